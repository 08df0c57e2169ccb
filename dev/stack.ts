/**
 * Starts the local stack: the Stripe Identity stub (in this process) and `wrangler dev` serving the
 * proxy with the demo tenant pointed at the stub. Used by `npm start` and by the end-to-end tests.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DEMO_EVENTS_SECRET, DEMO_TENANT_ID, DEMO_WEBHOOK_SECRET, demoVars } from "./demo-tenant.ts";
import { type EventsReceiver, startEventsReceiver } from "./events-receiver.ts";
import { startStubServer, type StubServer } from "./stub/server.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** What `wrangler dev` runs instead of wrangler.toml's `main` (same config, bindings and vars). */
const DEV_ENTRY = "dev/worker.ts";

export interface DevStack {
  proxyUrl: string;
  stub: StubServer;
  /** The demo tenant's backend: receives and verifies its event deliveries (docs/events.md). */
  events: EventsReceiver;
  /** Everything `wrangler dev` (and so the Worker) printed. */
  output(): string;
  stop(): Promise<void>;
}

export interface DevStackOptions {
  port?: number;
  stubPort?: number;
  /** The local events receiver's port (default: a free one). */
  eventsPort?: number;
  /** Extra variables for the Worker (override the demo's). */
  vars?: Record<string, string>;
  /** Print wrangler's output as it comes (npm start) instead of only collecting it (tests). */
  inherit?: boolean;
  formatLine?: (line: string) => string | null;
  persistTo?: string;
  /** Runs before wrangler dev starts, with its local state directory (e.g. to seed the tenant registry). */
  beforeStart?: (persistTo: string) => Promise<void>;
}

function envFileText(vars: Record<string, string>): string {
  // dotenv: single-quoted values are taken literally, so JSON needs no escaping (it has no `'`).
  return Object.entries(vars)
    .map(([k, v]) => {
      if (v.includes("'")) throw new Error(`dev var ${k} must not contain a single quote`);
      return `${k}='${v}'`;
    })
    .join("\n");
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not become healthy at ${url} within ${timeoutMs} ms`);
}

/** A free TCP port on 127.0.0.1 (so tests never collide with a running `npm start`). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface WranglerDevOptions {
  port: number;
  /** The Worker's variables and secrets (written to a dev-only env file that wrangler dev loads). */
  vars: Record<string, string>;
  /**
   * Local state (KV): default a directory of this port's own, so tests never share state. `npm start`
   * passes wrangler's default, `.wrangler/state`, which `wrangler dev` and `npm run tenants -- --local` use.
   */
  persistTo?: string;
  /** Print wrangler's output as it comes, each line through `formatLine` (null drops it). */
  inherit?: boolean;
  formatLine?: (line: string) => string | null;
  beforeStart?: (persistTo: string) => Promise<void>;
  /** Stopped with wrangler (and when it fails to start). */
  onStop?: () => Promise<void>;
}

export interface WranglerDev {
  proxyUrl: string;
  output(): string;
  stop(): Promise<void>;
}

/** `wrangler dev` on 127.0.0.1:port with the given variables; resolves once /healthz answers. */
/** Whether something already listens on 127.0.0.1:port (wrangler dev and the stub bind there). */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolveInUse) => {
    const server = createServer();
    server.once("error", () => resolveInUse(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveInUse(false)));
  });
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const { port } = options;
  const proxyUrl = `http://127.0.0.1:${port}`;
  const stateDir = join(root, ".wrangler", `dev-${port}`);
  mkdirSync(stateDir, { recursive: true });
  const envFile = join(stateDir, "demo.env");
  writeFileSync(envFile, envFileText(options.vars));

  const persistTo = options.persistTo ?? join(stateDir, "state");
  try {
    await options.beforeStart?.(persistTo);
  } catch (err) {
    await options.onStop?.();
    throw err;
  }

  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const child = spawn(
    process.execPath,
    [
      wrangler,
      "dev",
      // The dev entry: the deployed Worker plus the demo page (wrangler.toml's `main` has no demo).
      DEV_ENTRY,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--env-file",
      envFile,
      "--persist-to",
      persistTo,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: root,
      // No Cloudflare account and no network: skip the Request.cf download and metrics.
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: "false",
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        NO_UPDATE_NOTIFIER: "1",
        FORCE_COLOR: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const collect = (stream: NodeJS.WriteStream) => {
    let partial = "";
    return (d: Buffer) => {
      const text = d.toString();
      output += text;
      if (!options.inherit) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        const shown = options.formatLine ? options.formatLine(line) : line;
        if (shown !== null) stream.write(`${shown}\n`);
      }
    };
  };
  child.stdout?.on("data", collect(process.stdout));
  child.stderr?.on("data", collect(process.stderr));

  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await options.onStop?.();
  };
  try {
    await waitForHealth(proxyUrl, child, 90_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-4000)}`);
  }
  return { proxyUrl, output: () => output, stop };
}

/** The stub, the demo tenant's events receiver and `wrangler dev` with the demo tenant pointed at both. */
export async function startDevStack(options: DevStackOptions = {}): Promise<DevStack> {
  const port = options.port ?? (await freePort());
  const stubPort = options.stubPort ?? (await freePort());
  const proxyUrl = `http://127.0.0.1:${port}`;
  const stub = await startStubServer({
    port: stubPort,
    host: "127.0.0.1",
    publicBaseUrl: `http://127.0.0.1:${stubPort}`,
    webhooks: [{ url: `${proxyUrl}/webhooks/stripe/${DEMO_TENANT_ID}`, secret: DEMO_WEBHOOK_SECRET }],
  });
  const events = await startEventsReceiver({
    port: options.eventsPort ?? (await freePort()),
    secret: DEMO_EVENTS_SECRET,
    ...(options.inherit ? { print: (line: string) => console.log(line) } : {}),
  });
  const dev = await startWranglerDev({
    ...options,
    port,
    vars: { ...demoVars(port, stub.url, events.url), ...options.vars },
    onStop: async () => {
      await stub.close();
      await events.close();
    },
  });
  return { ...dev, stub, events };
}
