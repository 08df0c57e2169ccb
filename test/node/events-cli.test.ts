/**
 * `npm run events -- dlq list|replay` (scripts/events/cli.ts) against a recorded admin endpoint, its
 * usage errors, and wrangler.toml agreeing with the consumer's constants.
 */
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EVENTS_MAX_RETRIES } from "../../src/events/backoff.ts";
import { DEFAULT_DEAD_LETTER_QUEUE } from "../../src/events/queue-handler.ts";
import { runEventsCli } from "../../scripts/events/cli.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const KEY = "test-fake-events-admin-key-0123456789abcdef";

function io(answers: Record<string, unknown>[] = [], env: Record<string, string | undefined> = { EVENTS_ADMIN_KEY: KEY }) {
  const out: string[] = [];
  const err: string[] = [];
  const requests: Request[] = [];
  return {
    out,
    err,
    requests,
    io: {
      out: (t: string) => out.push(t),
      err: (t: string) => err.push(t),
      env,
      fetch: async (r: Request) => {
        requests.push(r);
        const answer = answers.shift();
        return answer ? Response.json(answer) : Response.json({ error: { code: "resource_missing" } }, { status: 404 });
      },
    },
  };
}

describe("events CLI", () => {
  it("lists a tenant's dead letters with the operator key", async () => {
    const t = io([
      {
        object: "list",
        data: [
          {
            tenant: "acme",
            event_id: "evt_1A",
            type: "identity.verification_session.verified",
            dead_at: 1_800_000_000,
            attempts: 11,
            replayable: true,
          },
        ],
        has_more: false,
      },
    ]);
    expect(await runEventsCli(["dlq", "list", "--tenant", "acme", "--url", "http://127.0.0.1:9999"], t.io)).toBe(0);
    const [request] = t.requests;
    expect(request?.method).toBe("GET");
    expect(request?.url).toBe("http://127.0.0.1:9999/admin/events/dead-letters?tenant=acme");
    expect(request?.headers.get("authorization")).toBe(`Bearer ${KEY}`);
    expect(t.out.join("\n")).toMatch(
      /acme\tevt_1A\tidentity.verification_session.verified\tdead 2027-01-15T08:00:00.000Z\t11 attempts/,
    );
  });

  it("replays batch after batch while the endpoint makes progress", async () => {
    const t = io([
      { replayed: ["evt_1A", "evt_1B"], skipped: [], has_more: true },
      {
        replayed: ["evt_1C"],
        skipped: [{ tenant: "acme", event_id: "evt_1D", reason: "stored without its payload" }],
        has_more: false,
      },
    ]);
    expect(await runEventsCli(["dlq", "replay", "--event", "evt_1A"], t.io)).toBe(0);
    expect(t.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "POST http://127.0.0.1:8787/admin/events/dead-letters/replay?event_id=evt_1A",
      "POST http://127.0.0.1:8787/admin/events/dead-letters/replay?event_id=evt_1A",
    ]);
    expect(t.out.at(-1)).toBe("3 replayed, 1 skipped");
  });

  it("fails (1) when the endpoint refuses, printing its code and no key", async () => {
    const t = io();
    t.io.fetch = async (r: Request) => {
      t.requests.push(r);
      return Response.json({ error: { code: "authentication_required", message: "Invalid operator key" } }, { status: 401 });
    };
    expect(await runEventsCli(["dlq", "list"], t.io)).toBe(1);
    expect(t.err.join("\n")).toMatch(/401 authentication_required/);
    expect(t.err.join("\n")).not.toContain(KEY);
  });

  it.each([
    [["--bogus"], 2],
    [["dlq"], 2],
    [["dlq", "purge"], 2],
    [["dlq", "list", "--event", "evt_1A"], 2],
    [[], 2],
    [["--help"], 0],
  ])("%j exits %i", async (argv, code) => {
    const t = io();
    expect(await runEventsCli(argv, t.io)).toBe(code);
    expect(t.requests).toEqual([]);
    expect([...t.out, ...t.err].join("\n")).toContain("Usage: npm run events");
  });

  it("needs EVENTS_ADMIN_KEY (usage error, nothing sent)", async () => {
    const t = io([], {});
    expect(await runEventsCli(["dlq", "list"], t.io)).toBe(2);
    expect(t.requests).toEqual([]);
  });

  it("runs as `npm run events` (exit code 2 on an unknown flag)", () => {
    const run = spawnSync("node_modules/.bin/tsx", ["scripts/events.ts", "--nope"], { cwd: ROOT, encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("Usage: npm run events");
  });
});

describe("wrangler.toml", () => {
  it("declares the queues the code expects: producer EVENTS, max_retries = EVENTS_MAX_RETRIES, the DLQ and its consumer", async () => {
    const { experimental_readRawConfig } = await import("wrangler");
    const raw = experimental_readRawConfig({ config: resolve(ROOT, "wrangler.toml") }).rawConfig as {
      queues?: {
        producers?: { binding: string; queue: string }[];
        consumers?: { queue: string; max_retries?: number; dead_letter_queue?: string }[];
      };
      kv_namespaces?: { binding: string }[];
    };
    const producer = raw.queues?.producers?.find((p) => p.binding === "EVENTS");
    expect(producer).toBeDefined();
    const consumer = raw.queues?.consumers?.find((c) => c.queue === producer?.queue);
    expect(consumer?.max_retries).toBe(EVENTS_MAX_RETRIES);
    expect(consumer?.dead_letter_queue).toBe(DEFAULT_DEAD_LETTER_QUEUE);
    expect(raw.queues?.consumers?.some((c) => c.queue === DEFAULT_DEAD_LETTER_QUEUE)).toBe(true);
    expect(raw.kv_namespaces?.some((k) => k.binding === "EVENTS_DEAD_LETTERS")).toBe(true);
  });
});
