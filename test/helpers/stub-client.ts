/**
 * A thin Stripe-like client over the stub's in-process fetch, for the stub's own tests: form
 * encoding as stripe-node does it, the key as Bearer, optional Stripe-Account and Idempotency-Key.
 */
import type { StripeStub } from "../../dev/stub/app.ts";

export const STUB_ORIGIN = "http://127.0.0.1:12111";

// biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary Stripe JSON; the schema test checks its shape.
export type StubJson = any;

export interface StubAnswer {
  status: number;
  headers: Headers;
  body: StubJson;
}

/** A response body as JSON (Response.json() is typed `unknown` under the Workers types). */
export async function readJson(res: Response): Promise<StubJson> {
  return JSON.parse(await res.text());
}

export interface ClientOptions {
  key?: string;
  account?: string;
}

export interface RequestOptions {
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

export function stubClient(stub: Pick<StripeStub, "fetch">, options: ClientOptions = {}) {
  const key = options.key ?? "sk_test_fake_stub_default";
  const baseHeaders = (extra: RequestOptions = {}): Record<string, string> => {
    const h: Record<string, string> = { Authorization: `Bearer ${key}`, ...extra.headers };
    if (options.account) h["Stripe-Account"] = options.account;
    if (extra.idempotencyKey) h["Idempotency-Key"] = extra.idempotencyKey;
    return h;
  };
  const answer = async (res: Response): Promise<StubAnswer> => {
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
  };
  return {
    async get(path: string, opts: RequestOptions = {}): Promise<StubAnswer> {
      return answer(await stub.fetch(new Request(`${STUB_ORIGIN}${path}`, { headers: baseHeaders(opts) })));
    },
    async post(path: string, form = "", opts: RequestOptions = {}): Promise<StubAnswer> {
      const headers = { "Content-Type": "application/x-www-form-urlencoded", ...baseHeaders(opts) };
      return answer(await stub.fetch(new Request(`${STUB_ORIGIN}${path}`, { method: "POST", headers, body: form })));
    },
  };
}

export type StubClient = ReturnType<typeof stubClient>;

/** Creates a session and returns its JSON, failing loudly when the stub refuses. */
export async function createSession(client: StubClient, form = "type=document"): Promise<StubAnswer["body"]> {
  const res = await client.post("/v1/identity/verification_sessions", form);
  if (res.status !== 200) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}
