/**
 * One interface over three Stripe SDKs nobody here wrote: stripe-node 23, stripe-node 12 (npm alias
 * `stripe-v12`) and Debian's stripe-python 5.0.0 (through test/e2e/sdk_driver.py in a child process).
 * Each is configured only as a tenant's backend would be: the base URL (the proxy) and a key.
 * Results are normalized so one test body (and `npm run conformance`) can run against every SDK.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import Stripe from "stripe";
import type { Json } from "./json.ts";

// stripe-v12's type declarations augment the ambient `stripe` module and would clash with stripe 23's:
// load it untyped (the driver below is the only place that touches it).
const require = createRequire(import.meta.url);
const StripeV12 = require("stripe-v12") as unknown;
/** The version stripe-node 23 pins (a runtime static its types do not declare). */
const NODE23_VERSION = (Stripe as unknown as { API_VERSION: string }).API_VERSION;

export type SdkOp =
  | "create"
  | "retrieve"
  | "update"
  | "list"
  | "list_all"
  | "cancel"
  | "redact"
  | "report_retrieve"
  | "report_list";

export interface SdkCall {
  op: SdkOp;
  id?: string;
  params?: Record<string, unknown>;
  idempotency_key?: string;
  api_key?: string;
  stripe_version?: string;
}

export interface SdkResponseInfo {
  status: number | null;
  request_id: string | null;
  stripe_version: string | null;
  idempotent_replayed: string | null;
  idempotency_key: string | null;
  original_request: string | null;
}

export type SdkResult =
  | { ok: true; object: Json; response: SdkResponseInfo | null; missing_attrs: string[] }
  | {
      ok: false;
      error: {
        /** The SDK's error class without the `Stripe` prefix: InvalidRequestError, AuthenticationError, … */
        class: string;
        code: string | null;
        param: string | null;
        http_status: number | null;
        request_id: string | null;
        message: string;
        type: string | null;
      };
    };

export interface SdkDriver {
  name: string;
  /** The Stripe-Version the SDK sends by itself (null: none). */
  sendsVersion: string | null;
  call(call: SdkCall): Promise<SdkResult>;
  close(): Promise<void>;
}

/** Session attributes every SDK user reads without checking (all are in Stripe's schema, nullable). */
export const SESSION_ATTRS = ["url", "client_secret", "last_error", "redaction", "metadata"] as const;

function missingAttrs(obj: Json): string[] {
  const items: Json[] = obj?.object === "list" ? obj.data : [obj];
  const missing = new Set<string>();
  for (const item of items) {
    if (item?.object !== "identity.verification_session") continue;
    for (const name of SESSION_ATTRS) if (!(name in item)) missing.add(name);
  }
  return [...missing].sort();
}

type NodeStripe = Stripe;
type NodeCtor = new (key: string, config: Record<string, unknown>) => NodeStripe;

/** stripe-node (any major): `host`/`port`/`protocol` and the key, nothing else. */
export function nodeDriver(name: string, ctor: NodeCtor, version: string, baseUrl: string, key: string): SdkDriver {
  const { hostname, port, protocol } = new URL(baseUrl);
  const clients = new Map<string, NodeStripe>();
  const client = (apiKey: string) => {
    let c = clients.get(apiKey);
    if (!c) {
      c = new ctor(apiKey, { host: hostname, port: Number(port), protocol: protocol.replace(":", ""), maxNetworkRetries: 0 });
      clients.set(apiKey, c);
    }
    return c;
  };
  return {
    name,
    sendsVersion: version,
    async call(call) {
      // biome-ignore lint/suspicious/noExplicitAny: both majors share these method names; their types differ.
      const s = client(call.api_key ?? key) as any;
      const opts: Record<string, unknown> = {};
      if (call.idempotency_key) opts.idempotencyKey = call.idempotency_key;
      if (call.stripe_version) opts.apiVersion = call.stripe_version;
      const p = call.params ?? {};
      const vs = s.identity.verificationSessions;
      const vr = s.identity.verificationReports;
      try {
        // stripe-node 12 takes an options object only when it has options ("Unknown arguments" otherwise).
        const rest = Object.keys(opts).length > 0 ? [p, opts] : [p];
        const withId = [call.id, ...rest];
        const calls: Record<SdkOp, () => Promise<Json>> = {
          create: () => vs.create(...rest),
          retrieve: () => vs.retrieve(...withId),
          update: () => vs.update(...withId),
          list: () => vs.list(...rest),
          list_all: async () => ({ object: "list", data: await vs.list(...rest).autoPagingToArray({ limit: 10_000 }) }),
          cancel: () => vs.cancel(...withId),
          redact: () => vs.redact(...withId),
          report_retrieve: () => vr.retrieve(...withId),
          report_list: () => vr.list(...rest),
        };
        const obj: Json = await calls[call.op]();
        const last = obj.lastResponse as { headers?: Record<string, string>; statusCode?: number } | undefined;
        const h = last?.headers ?? {};
        const response: SdkResponseInfo | null = last
          ? {
              status: last.statusCode ?? null,
              request_id: h["request-id"] ?? null,
              stripe_version: h["stripe-version"] ?? null,
              idempotent_replayed: h["idempotent-replayed"] ?? null,
              idempotency_key: h["idempotency-key"] ?? null,
              original_request: h["original-request"] ?? null,
            }
          : null;
        return { ok: true, object: JSON.parse(JSON.stringify(obj)), response, missing_attrs: missingAttrs(obj) };
      } catch (err) {
        const e = err as Json;
        if (typeof e?.type !== "string" || !e.type.startsWith("Stripe")) throw err;
        return {
          ok: false,
          error: {
            class: String(e.type).replace(/^Stripe/, ""),
            code: e.code ?? null,
            param: e.param ?? null,
            http_status: e.statusCode ?? null,
            request_id: e.requestId ?? null,
            message: String(e.message),
            type: e.raw?.type ?? null,
          },
        };
      }
    },
    async close() {},
  };
}

export const PYTHON = "/usr/bin/python3";
const DRIVER = join(dirname(fileURLToPath(import.meta.url)), "../e2e/sdk_driver.py");

/** Why stripe-python cannot run here, or null when it can. */
export async function pythonStripeMissing(): Promise<string | null> {
  if (!existsSync(PYTHON)) return `${PYTHON} not found (install python3-stripe: apt-get install -y python3-stripe)`;
  const ok = await new Promise<boolean>((done) => {
    const child = spawn(PYTHON, ["-c", "import stripe"], { stdio: "ignore" });
    child.on("exit", (code) => done(code === 0));
    child.on("error", () => done(false));
  });
  return ok ? null : `stripe is not importable by ${PYTHON} (install python3-stripe: apt-get install -y python3-stripe)`;
}

/** stripe-python in a child process (async, so an in-process stub keeps serving), one JSON line per call. */
export function pythonDriver(baseUrl: string, key: string): SdkDriver {
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [DRIVER, baseUrl, key], {
    cwd: resolve(dirname(DRIVER)),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PYTHONDONTWRITEBYTECODE: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => waiting.shift()?.(line));
  child.on("exit", () => {
    for (const w of waiting.splice(0)) w(JSON.stringify({ ok: false, error: { class: "DriverExited", message: stderr } }));
  });
  let queue = Promise.resolve();
  return {
    name: "stripe-python 5",
    sendsVersion: null,
    call(call) {
      const run = queue.then(
        () =>
          new Promise<SdkResult>((done) => {
            waiting.push((line) => done(JSON.parse(line) as SdkResult));
            child.stdin.write(`${JSON.stringify(call)}\n`);
          }),
      );
      queue = run.then(
        () => undefined,
        () => undefined,
      );
      return run;
    },
    async close() {
      child.stdin.end();
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
    },
  };
}

/** The two stripe-node majors, each with the API version it pins. */
export const NODE_SDKS = [
  { name: "stripe-node 23", ctor: Stripe as unknown as NodeCtor, version: NODE23_VERSION },
  { name: "stripe-node 12", ctor: StripeV12 as unknown as NodeCtor, version: "2022-11-15" },
] as const;
