/**
 * `npm run events -- dlq list|replay`: the operator CLI for dead letters (docs/events.md). It talks
 * to the Worker's admin endpoint (src/routes/events-admin.ts) with the EVENTS_ADMIN_KEY secret, so the
 * same command works against `npm start` / `wrangler dev` and a deployment.
 */
import { parseArgs } from "node:util";

export const USAGE = `Usage: npm run events -- dlq <list|replay> [options]

Commands
  dlq list                 dead letters (tenant, event id, type, when, attempts); no payloads
  dlq replay               put dead letters back on the events queue (same webhook-id), then
                           remove them from the store

Options
  --tenant <id>            only this tenant's dead letters
  --event <evt_...>        replay: only this event
  --url <base>             the Worker (default http://127.0.0.1:8787)
  --json                   print the endpoint's JSON
  -h, --help

The operator key is read from the environment variable EVENTS_ADMIN_KEY (the Worker secret of the
same name).`;

export interface EventsCliIo {
  out(text: string): void;
  err(text: string): void;
  env: Record<string, string | undefined>;
  fetch: (request: Request) => Promise<Response>;
}

interface Letter {
  tenant: string;
  event_id: string;
  type: string;
  dead_at: number;
  attempts: number;
  replayable: boolean;
}

class UsageError extends Error {}

/** Runs one command; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runEventsCli(argv: readonly string[], io: EventsCliIo): Promise<number> {
  let values: { tenant?: string; event?: string; url?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: {
        tenant: { type: "string" },
        event: { type: "string" },
        url: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    }));
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    const [group, command, ...rest] = positionals;
    if (group !== "dlq" || (command !== "list" && command !== "replay") || rest.length > 0)
      throw new UsageError(group === undefined ? "expected a command" : `unknown command ${positionals.join(" ")}`);
    if (values.event !== undefined && command !== "replay") throw new UsageError("--event applies to replay only");
    const key = io.env.EVENTS_ADMIN_KEY;
    if (!key) throw new UsageError("set EVENTS_ADMIN_KEY to the Worker's operator key");
    const base = new URL(values.url ?? "http://127.0.0.1:8787");
    return command === "list" ? await list(base, key, values, io) : await replay(base, key, values, io);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof Error && "code" in err && String(err.code).startsWith("ERR_PARSE_ARGS"))) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

async function call(io: EventsCliIo, url: URL, key: string, method: string): Promise<Record<string, unknown> | undefined> {
  const res = await io.fetch(new Request(url, { method, headers: { Authorization: `Bearer ${key}` } }));
  const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (res.ok) return body;
  const error = (body?.error ?? {}) as { code?: string; message?: string };
  io.err(`error: ${res.status} ${error.code ?? ""} ${error.message ?? ""}`.trim());
  return undefined;
}

function endpoint(base: URL, path: string, values: { tenant?: string; event?: string }): URL {
  const url = new URL(path, base);
  if (values.tenant) url.searchParams.set("tenant", values.tenant);
  if (values.event) url.searchParams.set("event_id", values.event);
  return url;
}

async function list(base: URL, key: string, values: { tenant?: string; json?: boolean }, io: EventsCliIo): Promise<number> {
  const body = await call(io, endpoint(base, "/admin/events/dead-letters", values), key, "GET");
  if (!body) return 1;
  if (values.json) {
    io.out(JSON.stringify(body, null, 2));
    return 0;
  }
  const letters = (body.data ?? []) as Letter[];
  if (letters.length === 0) io.out("no dead letters");
  for (const l of letters)
    io.out(
      `${l.tenant}\t${l.event_id}\t${l.type}\tdead ${new Date(l.dead_at * 1000).toISOString()}\t${l.attempts} attempts${l.replayable ? "" : "\t(not replayable)"}`,
    );
  if (body.has_more) io.out("… more (list per tenant with --tenant)");
  return 0;
}

async function replay(base: URL, key: string, values: { tenant?: string; event?: string; json?: boolean }, io: EventsCliIo) {
  let replayed = 0;
  let skipped = 0;
  // The endpoint replays a batch per call; call again while it made progress and more remain.
  for (;;) {
    const body = await call(io, endpoint(base, "/admin/events/dead-letters/replay", values), key, "POST");
    if (!body) return 1;
    if (values.json) io.out(JSON.stringify(body, null, 2));
    const done = (body.replayed ?? []) as string[];
    const left = (body.skipped ?? []) as { event_id: string; tenant: string; reason: string }[];
    replayed += done.length;
    skipped += left.length;
    if (!values.json) {
      for (const id of done) io.out(`replayed ${id}`);
      for (const s of left) io.out(`skipped ${s.tenant} ${s.event_id}: ${s.reason}`);
    }
    if (done.length === 0 || body.has_more !== true) break;
  }
  if (!values.json) io.out(`${replayed} replayed, ${skipped} skipped`);
  return skipped > 0 && replayed === 0 ? 1 : 0;
}
