"""Drives Debian's stripe-python (python3-stripe) for the end-to-end SDK tests.

Reads one JSON command per line on stdin and prints one JSON result per line on stdout. The SDK is
used as a tenant's backend would: only `stripe.api_base` (the proxy) and the key differ from Stripe.

  python3 sdk_driver.py <api_base> <api_key>

Command: {"op": "create|retrieve|update|list|list_all|cancel|redact|report_retrieve|report_list",
          "id": str?, "params": {}?, "idempotency_key": str?, "api_key": str?, "stripe_version": str?}
Result:  {"ok": true, "object": {...}, "response": {...}, "missing_attrs": [...]}
      or {"ok": false, "error": {"class", "code", "param", "http_status", "request_id", "message"}}
"""
import json
import sys

import stripe

stripe.api_base = sys.argv[1]
stripe.api_key = sys.argv[2]
stripe.max_network_retries = 0

Session = stripe.identity.VerificationSession
Report = stripe.identity.VerificationReport

# Attributes a caller reads without checking: Stripe's schema has them on every session (nullable).
SESSION_ATTRS = ("url", "client_secret", "last_error", "redaction", "metadata")


def run(cmd):
    op = cmd["op"]
    params = dict(cmd.get("params") or {})
    for special in ("api_key", "idempotency_key", "stripe_version"):
        if cmd.get(special) is not None:
            params[special] = cmd[special]
    oid = cmd.get("id")
    if op == "create":
        return Session.create(**params)
    if op == "retrieve":
        return Session.retrieve(oid, **params)
    if op == "update":
        return Session.modify(oid, **params)
    if op == "list":
        return Session.list(**params)
    if op == "list_all":
        page = Session.list(**params)
        items = list(page.auto_paging_iter())
        return {"object": "list", "data": items, "_response": page.last_response}
    if op == "cancel":
        return Session.cancel(oid, **params)
    if op == "redact":
        return Session.redact(oid, **params)
    if op == "report_retrieve":
        return Report.retrieve(oid, **params)
    if op == "report_list":
        return Report.list(**params)
    raise ValueError("unknown op " + op)


def missing_attrs(obj):
    """Attributes that raise AttributeError on a session or on each session of a list."""
    items = obj.get("data", []) if obj.get("object") == "list" else [obj]
    missing = []
    for item in items:
        if getattr(item, "get", None) and item.get("object") == "identity.verification_session":
            for name in SESSION_ATTRS:
                try:
                    getattr(item, name)
                except AttributeError:
                    missing.append(name)
    return sorted(set(missing))


def response_of(resp):
    if resp is None:
        return None
    headers = {k.lower(): v for k, v in dict(resp.headers).items()}
    return {
        "status": resp.code,
        "request_id": resp.request_id,
        "stripe_version": headers.get("stripe-version"),
        "idempotent_replayed": headers.get("idempotent-replayed"),
        "idempotency_key": headers.get("idempotency-key"),
        "original_request": headers.get("original-request"),
    }


def to_json(value):
    if hasattr(value, "to_dict_recursive"):
        return value.to_dict_recursive()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    return value


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            obj = run(cmd)
            resp = obj.get("_response") if isinstance(obj, dict) and "_response" in obj else obj.last_response
            out = {"ok": True, "object": to_json(obj), "response": response_of(resp), "missing_attrs": missing_attrs(obj)}
        except stripe.error.StripeError as err:
            out = {
                "ok": False,
                "error": {
                    "class": type(err).__name__,
                    "code": err.code,
                    "param": getattr(err, "param", None),
                    "http_status": err.http_status,
                    "request_id": err.request_id,
                    "message": err.user_message,
                    "type": (err.json_body or {}).get("error", {}).get("type") if isinstance(err.json_body, dict) else None,
                },
            }
        except Exception as err:  # a crash in the SDK itself (e.g. a shape it cannot read) is a finding too
            out = {"ok": False, "error": {"class": "Crash:" + type(err).__name__, "message": str(err)}}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
