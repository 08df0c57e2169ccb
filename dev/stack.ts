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

  const stateDir = join(root, ".wrangler", `dev-${port}`);
  mkdirSync(stateDir, { recursive: true });
  const envFile = join(stateDir, "demo.env");
  writeFileSync(envFile, envFileText({ ...demoVars(port, stub.url, events.url), ...options.vars }));

  const persistTo = join(stateDir, "state");
  try {
    await options.beforeStart?.(persistTo);
  } catch (err) {
    await stub.close();
    await events.close();
    throw err;
  }

  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const child = spawn(
    process.execPath,
    [
      wrangler,
      "dev",
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
      stdio: ["ignore", options.inherit ? "inherit" : "pipe", options.inherit ? "inherit" : "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });

  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await stub.close();
    await events.close();
  };
  try {
    await waitForHealth(proxyUrl, child, 90_000);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${output.slice(-4000)}`);
  }
  return { proxyUrl, stub, events, output: () => output, stop };
}
