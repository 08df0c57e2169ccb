import { type ApiEnv, runOperation } from "./api.ts";
import { handleControl } from "./control.ts";
import { invalidApiKey, jsonResponse, jsonText, missingApiKey, resourceMissing, StubError, unrecognizedUrl } from "./errors.ts";
import { decodeForm, type FormParams } from "./form.ts";
import { Expansion } from "./expand.ts";
import {
  type FaultKind,
  FaultQueue,
  type FaultSpec,
  nonJsonResponse,
  type PendingFault,
  parseFaults,
  StubNetworkError,
  slowBody,
  sleep,
  statusFaultError,
  truncateBody,
} from "./faults.ts";
import { handleHostedPage } from "./hosted-page.ts";
import { bodyText } from "./request-body.ts";
import { fingerprint, IdempotencyStore } from "./idempotency.ts";
import { newRequestId } from "./ids.ts";
import { renderReport, renderSession } from "./objects.ts";
import { type LastErrorCode, type Outcome, type SessionEventType, submitOutcome } from "./status.ts";
import { type JsonObject, type Scope, Store, scopeOf, type StoredSession } from "./store.ts";
import { matchRoute, operationKey } from "./routes.ts";
import { validateForm } from "./validate.ts";
import { STRIPE_VERSION } from "./validators.generated.ts";
import { type StripeEvent, type WebhookDelivery, type WebhookEndpoint, WebhookSender } from "./webhooks.ts";

/**
 * A stateful, in-memory fake of Stripe's Identity API. Only Web-standard APIs are used, so the same
 * object serves `npm start` (through dev/stub/server.ts) and the Worker's tests inside workerd, where
 * `stub.fetch` is handed to the proxy as its upstream fetch. It shares no code with the proxy: its own
 * routes (routes.ts), form decoder (form.ts) and validators generated from the OpenAPI extract
 * (validate.ts, validators.generated.ts), so a disagreement between the proxy and Stripe shows up here.
 */
export interface StripeStubOptions {
  /** The clock, in milliseconds (default `Date.now`): `created` fields and webhook timestamps. */
  now?: () => number;
  /** Origin of session `url`s and the hosted page (default http://127.0.0.1:12111). */
  publicBaseUrl?: string;
  /** Endpoints that receive signed events. */
  webhooks?: WebhookEndpoint[];
  /** How events are delivered (default: the global fetch, looked up at call time). */
  webhookFetch?: (request: Request) => Promise<Response>;
}

export interface RecordedRequest {
  requestId: string;
  method: string;
  path: string;
  /** The raw query string, without `?`. */
  query: string;
  /** The form-decoded body (POST) or query (GET); null when it did not decode. */
  params: FormParams | null;
  headers: {
    /** The Authorization header verbatim (null when absent), so tests can assert what the proxy injected. */
    authorization: string | null;
    /** The API key taken from it (Bearer, or Basic's user). */
    apiKey: string | null;
    stripeAccount: string | null;
    stripeVersion: string | null;
    idempotencyKey: string | null;
    contentType: string | null;
  };
  /** The status answered; null when the connection was dropped by a fault. */
  status: number | null;
  fault: FaultKind | null;
  /** Milliseconds, from the stub's clock. */
  at: number;
}

export interface StripeStub {
  fetch(request: Request): Promise<Response>;
  readonly publicBaseUrl: string;
  /** Every API request (`/v1/…`), oldest first. Cleared by reset(). */
  readonly requests: readonly RecordedRequest[];
  readonly events: readonly StripeEvent[];
  readonly webhookDeliveries: readonly WebhookDelivery[];
  /** All sessions of all tenants, with provided_details and every verified output expanded. */
  sessions(): JsonObject[];
  reports(): JsonObject[];
  /** Sessions really created (idempotent replays do not count). */
  countCreates(): number;
  /** What the hosted page does: `requires_input` takes the `last_error` code (default document_unverified_other). */
  setOutcome(id: string, outcome: Outcome["status"], errorCode?: LastErrorCode): JsonObject;
  injectFaults(faults: FaultSpec[]): void;
  pendingFaults(): PendingFault[];
  clearFaults(): void;
  /** Resolves when every queued webhook delivery (and background redaction) has finished. */
  flushWebhooks(): Promise<void>;
  /** Forgets everything: sessions, reports, idempotency keys, requests, events, faults. */
  reset(): void;
}

export const DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:12111";
export const DEFAULT_STRIPE_VERSION = STRIPE_VERSION;

const TEST_KEY = /^(sk|rk)_test_[A-Za-z0-9_]+$/;
const ACCOUNT_ID = /^acct_[A-Za-z0-9]+$/;
const VERIFY_PATH = /^\/verify\/([A-Za-z0-9_]+)$/;
const INSPECT_EXPAND = new Expansion(["provided_details", "verified_outputs.dob", "verified_outputs.id_number"]);

/** The key of an `Authorization` header: Bearer (Stripe's SDKs) or Basic with the key as user (curl -u). */
function apiKeyOf(header: string | null): string | null {
  const value = header?.trim();
  if (!value) return null;
  const [scheme, credential = ""] = value.split(/\s+/, 2);
  if (scheme?.toLowerCase() === "basic") {
    try {
      return atob(credential).split(":")[0] ?? "";
    } catch {
      return credential;
    }
  }
  return scheme?.toLowerCase() === "bearer" ? credential : value;
}

/** The caller's scope from Authorization and Stripe-Account; Stripe's 401/403 otherwise. */
function authenticate(headers: Headers): Scope {
  const apiKey = apiKeyOf(headers.get("Authorization"));
  if (apiKey === null) throw missingApiKey();
  if (!TEST_KEY.test(apiKey)) throw invalidApiKey(apiKey);
  const account = headers.get("Stripe-Account");
  if (account !== null && !ACCOUNT_ID.test(account)) {
    throw new StubError(
      403,
      `The provided key '${apiKey.slice(0, 8)}***' does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.`,
      { code: "account_invalid" },
    );
  }
  return scopeOf(apiKey, account);
}

export function createStripeStub(options: StripeStubOptions = {}): StripeStub {
  const now = options.now ?? (() => Date.now());
  const publicBaseUrl = (options.publicBaseUrl ?? DEFAULT_PUBLIC_BASE_URL).replace(/\/+$/, "");
  const store = new Store();
  const idempotency = new IdempotencyStore();
  const faults = new FaultQueue();
  const requests: RecordedRequest[] = [];
  const webhooks = new WebhookSender(
    options.webhooks ?? [],
    options.webhookFetch ?? ((request) => fetch(request)),
    now,
    DEFAULT_STRIPE_VERSION,
  );
  /** The API request being handled, for the `request` of the events it causes (handlers are synchronous). */
  let current: StripeEvent["request"] = { id: null, idempotency_key: null };

  const env: ApiEnv = {
    store,
    publicBaseUrl,
    now,
    emit(type: SessionEventType, session: StoredSession) {
      webhooks.emit(type, renderSession(session, env), current);
    },
    schedule(task) {
      webhooks.schedule(task);
    },
  };

  function submit(session: StoredSession, outcome: Outcome): void {
    current = { id: null, idempotency_key: null };
    submitOutcome(session, outcome, env);
  }

  function errorResponse(err: StubError, headers: Record<string, string>, requestId: string): Response {
    return jsonResponse(err.status, err.toBody({ id: requestId, at: now() }), { ...headers, ...err.headers });
  }

  /** Authentication, routing, decoding, validation, idempotency, then the operation itself. */
  async function handleApi(request: Request, url: URL, body: string, requestId: string, latency: PendingFault | undefined) {
    const method = request.method.toUpperCase();
    const idempotencyKey = method === "POST" ? request.headers.get("Idempotency-Key") : null;
    const headers: Record<string, string> = {
      "Request-Id": requestId,
      "Stripe-Version": request.headers.get("Stripe-Version") ?? DEFAULT_STRIPE_VERSION,
      "Cache-Control": "no-cache, no-store",
    };
    if (idempotencyKey !== null) headers["Idempotency-Key"] = idempotencyKey;
    let running: Scope | undefined;
    try {
      const scope = authenticate(request.headers);
      const match = matchRoute(method, url.pathname);
      if (match.kind === "none") throw unrecognizedUrl(method, url.pathname);
      if (match.kind === "missing") throw resourceMissing(match.object, match.id);
      const contentType = request.headers.get("Content-Type")?.split(";")[0]?.trim().toLowerCase();
      if (method === "POST" && body !== "" && contentType !== "application/x-www-form-urlencoded") {
        throw new StubError(400, "Invalid request: the request body must be application/x-www-form-urlencoded.");
      }
      const decoded = decodeForm(method === "GET" ? url.search.slice(1) : body);
      if (!decoded.ok) throw new StubError(400, "Invalid request: the request body or query string could not be decoded.");
      const params = decoded.params;
      validateForm(operationKey(method, match.openapiPath), params);

      const path = url.pathname;
      const print = fingerprint(params);
      if (idempotencyKey !== null) {
        const found = idempotency.lookup(scope, idempotencyKey, method, path, print, now());
        if (found.kind === "replay") {
          return new Response(found.saved.body, {
            status: found.saved.status,
            headers: {
              ...headers,
              "Content-Type": "application/json",
              "Idempotent-Replayed": "true",
              "Original-Request": found.saved.requestId,
            },
          });
        }
        idempotency.begin(scope, idempotencyKey);
        running = scope;
        headers["Original-Request"] = requestId;
      }
      if (latency) await sleep(latency.ms ?? 1000);

      let status = 200;
      let result: unknown;
      current = { id: requestId, idempotency_key: idempotencyKey };
      try {
        result = runOperation({ op: match.name, id: match.id, params, scope }, env);
      } catch (err) {
        if (!(err instanceof StubError)) throw err;
        status = err.status;
        result = err.toBody({ id: requestId, at: now() });
      } finally {
        current = { id: null, idempotency_key: null };
      }
      const text = jsonText(result);
      if (idempotencyKey !== null) {
        idempotency.save(scope, idempotencyKey, {
          method,
          path,
          fingerprint: print,
          status,
          body: text,
          requestId,
          savedAt: now(),
        });
      }
      return new Response(text, { status, headers: { ...headers, "Content-Type": "application/json" } });
    } catch (err) {
      if (err instanceof StubError) return errorResponse(err, headers, requestId);
      return errorResponse(new StubError(500, "An unknown error occurred in the Stripe stub."), headers, requestId);
    } finally {
      if (running && idempotencyKey !== null) idempotency.end(running, idempotencyKey);
    }
  }

  /** One API request: recorded, then the fault (if any) decides what really happens to it. */
  async function api(request: Request, url: URL): Promise<Response> {
    const requestId = newRequestId();
    const method = request.method.toUpperCase();
    const body = method === "GET" || method === "HEAD" ? "" : await bodyText(request);
    const decoded = decodeForm(method === "GET" ? url.search.slice(1) : body);
    const h = request.headers;
    const fault = faults.take(method, url.pathname);
    const record: RecordedRequest = {
      requestId,
      method,
      path: url.pathname,
      query: url.search.slice(1),
      params: decoded.ok ? decoded.params : null,
      headers: {
        authorization: h.get("Authorization"),
        apiKey: apiKeyOf(h.get("Authorization")),
        stripeAccount: h.get("Stripe-Account"),
        stripeVersion: h.get("Stripe-Version"),
        idempotencyKey: h.get("Idempotency-Key"),
        contentType: h.get("Content-Type"),
      },
      status: null,
      fault: fault?.kind ?? null,
      at: now(),
    };
    requests.push(record);

    if (fault?.kind === "reset_before") throw new StubNetworkError("connection reset before the request was processed");
    if (fault?.kind === "non_json") {
      const response = nonJsonResponse(fault);
      record.status = response.status;
      return response;
    }
    if (fault?.kind === "status") {
      const err = statusFaultError(fault, h.get("Idempotency-Key"));
      record.status = err.status;
      return errorResponse(
        err,
        { "Request-Id": requestId, "Stripe-Version": h.get("Stripe-Version") ?? DEFAULT_STRIPE_VERSION },
        requestId,
      );
    }
    const response = await handleApi(request, url, body, requestId, fault?.kind === "latency" ? fault : undefined);
    if (fault?.kind === "reset_after") throw new StubNetworkError("connection reset after the request was processed");
    record.status = response.status;
    if (fault?.kind === "truncated") return truncateBody(response);
    if (fault?.kind === "slow_body") return slowBody(response, fault.ms ?? 2000);
    return response;
  }

  const stub: StripeStub = {
    publicBaseUrl,
    requests,
    get events() {
      return webhooks.events;
    },
    get webhookDeliveries() {
      return webhooks.deliveries;
    },

    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      if (url.pathname.startsWith("/_stub/")) return handleControl(request, url.pathname, stub);
      const verify = VERIFY_PATH.exec(url.pathname);
      if (verify) {
        return handleHostedPage(request, verify[1] ?? "", {
          findSession: (id) => store.sessions.get(id),
          submit,
          publicBaseUrl,
          requestId: newRequestId,
        });
      }
      return api(request, url);
    },

    sessions() {
      return [...store.sessions.values()].sort((a, b) => a.seq - b.seq).map((s) => renderSession(s, env, INSPECT_EXPAND));
    },
    reports() {
      const all = new Expansion([
        "document.dob",
        "document.expiration_date",
        "document.number",
        "id_number.dob",
        "id_number.id_number",
      ]);
      return [...store.reports.values()].sort((a, b) => a.seq - b.seq).map((r) => renderReport(r, all));
    },
    countCreates() {
      return store.createdSessions;
    },
    setOutcome(id, outcome, errorCode = "document_unverified_other") {
      const session = store.sessions.get(id);
      if (!session) throw resourceMissing("verification_session", id);
      submit(session, outcome === "requires_input" ? { status: outcome, errorCode } : { status: outcome });
      return renderSession(session, env, INSPECT_EXPAND);
    },
    injectFaults(list) {
      faults.add(parseFaults(list));
    },
    pendingFaults() {
      return faults.list();
    },
    clearFaults() {
      faults.clear();
    },
    flushWebhooks() {
      return webhooks.flush();
    },
    reset() {
      store.reset();
      idempotency.reset();
      faults.clear();
      webhooks.reset();
      requests.length = 0;
    },
  };
  return stub;
}
