/**
 * A tenant backend for local development: receives the proxy's event deliveries (docs/events.md),
 * verifies each with the `standardwebhooks` package exactly as a tenant would, prints it and keeps it
 * for tests. Started by `npm start` (dev/stack.ts) on 127.0.0.1; the demo tenant's events.url points
 * here. Answers 204 to a verified delivery, 400 to anything else.
 */
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

export interface ReceivedEvent {
  id: string;
  type: string;
  sessionId: string;
  status: string;
  verified: boolean;
  /** The session object's field names, as delivered. */
  fields: string[];
  /** When it arrived (ms since epoch). */
  at: number;
}

export interface EventsReceiver {
  url: string;
  readonly received: readonly ReceivedEvent[];
  close(): Promise<void>;
}

export async function startEventsReceiver(options: {
  port: number;
  secret: string;
  print?: (line: string) => void;
}): Promise<EventsReceiver> {
  const webhook = new Webhook(options.secret);
  const received: ReceivedEvent[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let event: { type?: string; data?: { object?: { id?: string; status?: string; [field: string]: unknown } } };
      try {
        event = webhook.verify(body, headers) as typeof event;
      } catch {
        options.print?.(`[events] refused a delivery: signature does not verify`);
        res.writeHead(400).end();
        return;
      }
      const entry: ReceivedEvent = {
        id: headers["webhook-id"] ?? "",
        type: event.type ?? "",
        sessionId: event.data?.object?.id ?? "",
        status: event.data?.object?.status ?? "",
        verified: true,
        fields: Object.keys(event.data?.object ?? {}),
        at: Date.now(),
      };
      received.push(entry);
      options.print?.(`[events] ${entry.type} ${entry.sessionId} (${entry.status}) webhook-id ${entry.id}, signature verified`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  return {
    url: `http://127.0.0.1:${options.port}/identity-events`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
