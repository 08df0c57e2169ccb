import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { freePort } from "../dev/stack.ts";
import { BUILD_DIR, type Bundles } from "./build.ts";
import { drain, type RuntimeOutput } from "./runtime-output.ts";
import { BENCH_STRIPE_KEY } from "./tenant.ts";

/**
 * The cross-check runtime: `workerd serve` with a generated config, nothing of Miniflare's around the
 * Workers. Miniflare sends every subrequest of a Worker through its own outbound-interceptor Worker
 * (an extra isolate hop per `fetch`, which production does not have), and simulates KV and rate
 * limiters with Workers of its own; here a Worker's `fetch` goes straight to the network. KV is a
 * bounded in-memory Map in a Worker of its own (workerd's KV binding speaks HTTP to it): no disk,
 * unlike Miniflare's simulator, and no network, unlike production; the rate limiters are the same
 * always-allow stand-in as in Miniflare.
 */

/**
 * KV over workerd's KV-binding protocol: GET/PUT/DELETE on `/<key>` (`?urlencoded=true` when the key
 * is percent-encoded), `expiration_ttl` honoured, 404 for a missing key. Enough for the list cache's
 * get/put; no list or metadata.
 */
export const MEMORY_KV_MODULE = `const store = new Map();
const MAX_KEYS = 20000;
export default {
  async fetch(request) {
    const url = new URL(request.url);
    let key = url.pathname.slice(1);
    if (url.searchParams.get("urlencoded") === "true") key = decodeURIComponent(key);
    if (request.method === "GET") {
      const entry = store.get(key);
      if (!entry || (entry.expires !== 0 && entry.expires < Date.now())) return new Response("Not Found", { status: 404 });
      return new Response(entry.value);
    }
    if (request.method === "PUT") {
      const value = await request.arrayBuffer();
      const ttl = Number(url.searchParams.get("expiration_ttl") ?? "0");
      store.delete(key);
      store.set(key, { value, expires: ttl > 0 ? Date.now() + ttl * 1000 : 0 });
      if (store.size > MAX_KEYS) store.delete(store.keys().next().value);
      return new Response(null);
    }
    if (request.method === "DELETE") {
      store.delete(key);
      return new Response(null);
    }
    return new Response("not supported by the bench KV", { status: 501 });
  },
};
`;

export type RawTarget = "raw_passthrough" | "raw_hono" | "raw_hono_log" | "raw_edge";

export interface RawWorkerd {
  urls: Record<RawTarget, string>;
  pid: number | undefined;
  stop: () => Promise<void>;
}

/** The workerd binary Miniflare itself runs. */
export function workerdBinary(): string {
  const fromMiniflare = createRequire(createRequire(import.meta.url).resolve("miniflare/package.json"));
  return join(dirname(fromMiniflare.resolve("workerd/package.json")), "bin", "workerd");
}

export const capnpText = (value: string) => JSON.stringify(value);

export function textBindings(bindings: Record<string, string>): string {
  return Object.entries(bindings)
    .map(([name, value]) => `(name = ${capnpText(name)}, text = ${capnpText(value)})`)
    .join(", ");
}

/** Waits until `url` answers (a workerd serve socket is listening), at most 20 s. */
export async function waitForSocket(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await (await fetch(url)).arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`workerd serve did not listen on ${url} within 20 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface RawOptions {
  bundles: Bundles;
  compatibilityDate: string;
  upstream: string;
  edgeBindings: Record<string, string>;
  rateLimitStandin: string;
  output: RuntimeOutput;
  /** Opens workerd's inspector on this port (bench/profile.ts profiles the raw rows through it). */
  inspectorPort?: number;
}

/**
 * An empty Worker: the startup measurement's baseline (bench/startup.ts), so that what workerd
 * itself spends starting is subtracted from a bundle's startup.
 */
export const EMPTY_WORKER_MODULE = `export default { fetch() { return new Response("ok"); } };\n`;

/** A Worker the generated config serves: one of the bench targets, or the empty baseline. */
export type RawService = RawTarget | "raw_empty";

/**
 * The `workerd serve` config: the given Workers, each on its own socket (`port` 0: any free port,
 * reported on the control fd), with the in-memory KV and the rate-limiter stand-in always present,
 * so that a config serving one Worker differs from another only by that Worker.
 */
export function rawConfig(options: Omit<RawOptions, "output">, dir: string, ports: Partial<Record<RawService, number>>): string {
  const embed = (path: string) => `embed ${capnpText(relative(dir, path))}`;
  const compat = `compatibilityDate = ${capnpText(options.compatibilityDate)}, compatibilityFlags = [${options.bundles.compatibilityFlags.map(capnpText).join(", ")}]`;
  const limiters = ["SERVER_RATE_LIMITER", "RATE_LIMITER"]
    .map((name) => `(name = "${name}", wrapped = (moduleName = "bench-internal:ratelimit-standin"))`)
    .join(", ");
  const module = (source: string) => `modules = [(name = "worker", esModule = ${source})]`;
  const services: Record<RawService, string> = {
    raw_passthrough: `worker = (${module(embed(options.bundles.passthrough.scriptPath))}, ${compat},
      bindings = [${textBindings({ STRIPE_API_BASE: options.upstream })}], globalOutbound = "loopback")`,
    raw_hono: `worker = (${module(embed(options.bundles.hono.scriptPath))}, ${compat},
      bindings = [${textBindings({ STRIPE_API_BASE: options.upstream, STRIPE_KEY_BENCH: BENCH_STRIPE_KEY })}], globalOutbound = "loopback")`,
    // The same Hono bundle writing one access line per request (bench/workers/hono-proxy.ts).
    raw_hono_log: `worker = (${module(embed(options.bundles.hono.scriptPath))}, ${compat},
      bindings = [${textBindings({ STRIPE_API_BASE: options.upstream, STRIPE_KEY_BENCH: BENCH_STRIPE_KEY, ACCESS_LINE: "1" })}], globalOutbound = "loopback")`,
    raw_edge: `worker = (${module(embed(options.bundles.edge.scriptPath))}, ${compat},
      bindings = [${textBindings(options.edgeBindings)}, ${limiters}, (name = "LIST_CACHE", kvNamespace = "memory_kv")],
      globalOutbound = "loopback")`,
    raw_empty: `worker = (${module(capnpText(EMPTY_WORKER_MODULE))}, ${compat})`,
  };
  const served = Object.keys(ports) as RawService[];
  return `using Workerd = import "/workerd/workerd.capnp";
# Generated by bench/raw-workerd.ts: the bench Workers on workerd alone.
const config :Workerd.Config = (
  services = [
${served.map((name) => `    (name = "${name}", ${services[name]}),`).join("\n")}
    (name = "memory_kv", worker = (modules = [(name = "kv", esModule = ${capnpText(MEMORY_KV_MODULE)})], ${compat})),
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [
${served.map((name) => `    (name = "${name}", address = "127.0.0.1:${ports[name]}", http = (), service = "${name}"),`).join("\n")}
  ],
  extensions = [(modules = [(name = "bench-internal:ratelimit-standin", internal = true, esModule = ${capnpText(options.rateLimitStandin)})])],
);
`;
}

export async function startRawWorkerd(options: RawOptions): Promise<RawWorkerd> {
  const dir = join(BUILD_DIR, "raw-workerd");
  await mkdir(dir, { recursive: true });
  const ports = {
    raw_passthrough: await freePort(),
    raw_hono: await freePort(),
    raw_hono_log: await freePort(),
    raw_edge: await freePort(),
  };
  const config = rawConfig(options, dir, ports);
  const configPath = join(dir, "config.capnp");
  await writeFile(configPath, config);
  const inspector = options.inspectorPort === undefined ? [] : [`--inspector-addr=127.0.0.1:${options.inspectorPort}`];
  const child: ChildProcess = spawn(workerdBinary(), ["serve", configPath, "--experimental", ...inspector], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.stdout) drain(child.stdout, options.output);
  if (child.stderr) drain(child.stderr, options.output);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const urls = {
    raw_passthrough: `http://127.0.0.1:${ports.raw_passthrough}`,
    raw_hono: `http://127.0.0.1:${ports.raw_hono}`,
    raw_hono_log: `http://127.0.0.1:${ports.raw_hono_log}`,
    raw_edge: `http://127.0.0.1:${ports.raw_edge}`,
  };
  try {
    await waitForSocket(`${urls.raw_passthrough}/healthz`);
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
  return {
    urls,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
