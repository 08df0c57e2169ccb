import type autocannon from "autocannon";
import { PROXY_REQUEST_ID_PREFIX } from "../../src/http/request-id.ts";

/**
 * The load test's request mix: what each request is (creates as form, JSON and under the caller's
 * Idempotency-Key; retrieves, lists, updates, cancels, reports; malformed bodies; bad keys; browser
 * creates, by weight), built by `Mix.next` (autocannon's setupRequest) and counted by `Mix.record`
 * (its onResponse).
 */

export const SESSIONS = "/v1/identity/verification_sessions";
const REPORTS = "/v1/identity/verification_reports";

export type Kind =
  | "create_form"
  | "create_json"
  | "create_caller_key"
  | "retrieve"
  | "retrieve_missing"
  | "list"
  | "list_no_cache"
  | "update"
  | "cancel"
  | "report_list"
  | "malformed"
  | "bad_key"
  | "browser_no_token";

const MIX: [Kind, number][] = [
  ["create_form", 12],
  ["create_json", 6],
  ["create_caller_key", 4],
  ["retrieve", 16],
  ["retrieve_missing", 3],
  ["list", 10],
  ["list_no_cache", 4],
  ["update", 8],
  ["cancel", 4],
  ["report_list", 3],
  ["malformed", 14],
  ["bad_key", 10],
  ["browser_no_token", 2],
];
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);

const MALFORMED: { body: string; type: string; path?: string }[] = [
  { body: "type=%E0%A4%A", type: "application/x-www-form-urlencoded" },
  { body: "type=document&unknown_param=1", type: "application/x-www-form-urlencoded" },
  { body: `${"a[".repeat(40)}x${"]".repeat(40)}=1`, type: "application/x-www-form-urlencoded" },
  { body: "type=document&type=id_number", type: "application/x-www-form-urlencoded" },
  { body: "type=document&options[document]=", type: "application/x-www-form-urlencoded" },
  { body: "type=document&return_url=https%3A%2F%2Fevil.test%2F", type: "application/x-www-form-urlencoded" },
  { body: "__proto__[polluted]=1&constructor[prototype][x]=1&type=document", type: "application/x-www-form-urlencoded" },
  { body: `type=document&${Array(150).fill("expand[]=x").join("&")}`, type: "application/x-www-form-urlencoded" },
  { body: '{"type":"document","toString":"x"}', type: "application/json" },
  { body: '{"type":"document","metadata":{"a][b":"x"}}', type: "application/json" },
  { body: '{"type":', type: "application/json" },
  { body: `${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}`, type: "application/json" },
  { body: "type=document", type: "text/plain" },
  { body: `type=document&metadata[pad]=${"x".repeat(70 * 1024)}`, type: "application/x-www-form-urlencoded" },
  { body: "type=document", type: "application/x-www-form-urlencoded", path: `${SESSIONS}?type=document` },
  { body: "", type: "application/x-www-form-urlencoded", path: `${SESSIONS}/vs_a%2F..%2Fcancel/cancel` },
];

export interface Context {
  kind?: Kind;
  callerKey?: string;
}

/** Shared state between the request builders and the response handlers (one process, one thread). */
export class Mix {
  readonly sessionIds: string[] = [];
  readonly secrets = new Set<string>();
  readonly byStatus: Record<string, number> = {};
  /**
   * 5xx answers the Worker made itself (its own `req_edge_` Request-Id), by status. Stripe's final 5xx after
   * the proxy's retries reaches the caller unchanged, with Stripe's Request-Id: by design, not a failure.
   */
  readonly ownByStatus: Record<string, number> = {};
  readonly byCode: Record<string, number> = {};
  readonly byKind: Record<string, Record<string, number>> = {};
  missingRequestId = 0;
  /** Answers whose body is not JSON: a broken body passed through would show here. */
  unparsable = 0;
  /** The first few of them, to tell what answered (the Worker, workerd or wrangler). */
  readonly unparsableSamples: string[] = [];
  sent = 0;
  callerKeyRepeats = 0;
  private n = 0;
  private readonly recentCallerKeys: { key: string; proxyKey: string }[] = [];

  constructor(
    private readonly serverKeys: readonly string[],
    readonly badKeys: readonly string[],
    private readonly browserHost: string,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(Math.random() * items.length)] as T;
  }

  private kind(): Kind {
    let r = Math.random() * MIX_TOTAL;
    for (const [kind, weight] of MIX) {
      r -= weight;
      if (r < 0) return kind;
    }
    return "retrieve";
  }

  private serverHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.pick(this.serverKeys)}`, ...extra };
  }

  private sessionId(): string {
    return this.sessionIds.length > 0 ? this.pick(this.sessionIds) : "vs_1NotCreatedYet";
  }

  /** The next request: autocannon's setupRequest. */
  next(request: autocannon.Request, context: Context): autocannon.Request {
    const kind = this.kind();
    context.kind = kind;
    this.sent++;
    const i = this.n++;
    const send = (method: "GET" | "POST", path: string, headers: Record<string, string>, body?: string) => ({
      ...request,
      method,
      path,
      headers,
      body,
    });
    const form = { "content-type": "application/x-www-form-urlencoded" };
    switch (kind) {
      case "create_form":
        return send("POST", SESSIONS, this.serverHeaders(form), `type=document&metadata[load]=${i}`);
      case "create_json":
        return send(
          "POST",
          SESSIONS,
          this.serverHeaders({ "content-type": "application/json" }),
          JSON.stringify({ type: "id_number", metadata: { load: String(i) } }),
        );
      case "create_caller_key": {
        // One in three reuses a recent key: the retry of a client that never saw its answer. A retry comes
        // from the same client, so with the same proxy key (tenant): one key on two tenants is two requests
        // to Stripe (their accounts differ), not a retry.
        const reuse = this.recentCallerKeys.length > 0 && Math.random() < 1 / 3;
        const sent = reuse
          ? this.pick(this.recentCallerKeys)
          : { key: `load-${process.pid}-${i}`, proxyKey: this.pick(this.serverKeys) };
        if (reuse) this.callerKeyRepeats++;
        else {
          this.recentCallerKeys.push(sent);
          if (this.recentCallerKeys.length > 50) this.recentCallerKeys.shift();
        }
        context.callerKey = sent.key;
        // The same key always comes with the same body (another body would be Stripe's idempotency_error).
        const headers = { authorization: `Bearer ${sent.proxyKey}`, ...form, "idempotency-key": sent.key };
        return send("POST", SESSIONS, headers, `type=document&metadata[load]=${sent.key}`);
      }
      case "retrieve":
        return send("GET", `${SESSIONS}/${this.sessionId()}`, this.serverHeaders());
      case "retrieve_missing":
        return send("GET", `${SESSIONS}/vs_1Missing${i}`, this.serverHeaders());
      case "list":
        return send("GET", `${SESSIONS}?limit=${1 + (i % 5)}`, this.serverHeaders());
      case "list_no_cache":
        return send("GET", `${SESSIONS}?limit=3&status=requires_input`, this.serverHeaders({ "cache-control": "no-cache" }));
      case "update":
        return send("POST", `${SESSIONS}/${this.sessionId()}`, this.serverHeaders(form), `metadata[updated]=${i}`);
      case "cancel":
        return send("POST", `${SESSIONS}/${this.sessionId()}/cancel`, this.serverHeaders(form), "");
      case "report_list":
        return send("GET", `${REPORTS}?limit=3`, this.serverHeaders());
      case "malformed": {
        const m = this.pick(MALFORMED);
        return send("POST", m.path ?? SESSIONS, this.serverHeaders({ "content-type": m.type }), m.body);
      }
      case "bad_key": {
        const auth = this.pick([...this.badKeys.map((k) => `Bearer ${k}`), "Bearer", "Basic !!!", "Token x", ""]);
        return send("GET", SESSIONS, auth === "" ? {} : { authorization: auth });
      }
      case "browser_no_token": {
        const browser = {
          ...form,
          host: this.browserHost,
          "sec-fetch-site": "same-origin",
          origin: `http://${this.browserHost}`,
        };
        return send("POST", SESSIONS, browser, "type=document");
      }
    }
  }

  /** autocannon's onResponse. */
  record(status: number, body: string, context: Context, headers: Record<string, string | string[]>): void {
    const kind = context.kind ?? "retrieve";
    const requestId = headers["request-id"] ?? headers["Request-Id"];
    if (requestId === undefined) this.missingRequestId++;
    this.byStatus[status] = (this.byStatus[status] ?? 0) + 1;
    const firstId = Array.isArray(requestId) ? requestId[0] : requestId;
    if (status >= 500 && (firstId === undefined || firstId.startsWith(PROXY_REQUEST_ID_PREFIX)))
      this.ownByStatus[status] = (this.ownByStatus[status] ?? 0) + 1;
    let code = "";
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(body) as Record<string, unknown>;
    } catch {
      // Counted below as an unparsable answer.
    }
    if (parsed === undefined) {
      code = "(not json)";
      this.unparsable++;
      if (this.unparsableSamples.length < 5)
        this.unparsableSamples.push(`${kind} ${status} ${JSON.stringify(headers)} ${body.slice(0, 300)}`);
    } else if (status >= 400) {
      const error = parsed.error as { code?: string; type?: string } | undefined;
      code = error?.code ?? `(${error?.type ?? "no error object"})`;
      this.byCode[code] = (this.byCode[code] ?? 0) + 1;
    }
    const perKind = this.byKind[kind] ?? {};
    const key = code === "" ? String(status) : `${status} ${code}`;
    perKind[key] = (perKind[key] ?? 0) + 1;
    this.byKind[kind] = perKind;
    if (status === 200 && parsed?.object === "identity.verification_session") {
      if (typeof parsed.client_secret === "string") this.secrets.add(parsed.client_secret);
      if (typeof parsed.url === "string") this.secrets.add(parsed.url);
      if (kind.startsWith("create") && typeof parsed.id === "string") {
        this.sessionIds.push(parsed.id);
        if (this.sessionIds.length > 500) this.sessionIds.splice(0, 100);
      }
    }
  }
}
