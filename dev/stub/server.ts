import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { createStripeStub, type StripeStub, type StripeStubOptions } from "./app.ts";
import { announcedLength, StubNetworkError } from "./faults.ts";
import type { WebhookEndpoint } from "./webhooks.ts";

/**
 * The stub over real HTTP for `npm start` and end-to-end tests: node:http in front of the
 * platform-neutral core. Request bodies are bounded; injected connection faults really drop the
 * socket, so clients see what they would see from a broken network.
 */
export interface StubServerOptions extends StripeStubOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
}

export interface StubServer {
  /** e.g. http://127.0.0.1:12111 */
  url: string;
  /** The in-process stub behind the server, for inspection (requests, sessions, faults…). */
  app: StripeStub;
  close(): Promise<void>;
}

/** Stripe refuses far smaller bodies; this only keeps a runaway client from filling memory. */
export const MAX_REQUEST_BODY = 1024 * 1024;

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BODY) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Connection-level headers describe the hop to this server, not the request the stub sees. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"]);

function toWebRequest(req: IncomingMessage, body: Buffer, origin: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? "GET";
  return new Request(new URL(req.url ?? "/", origin), {
    method,
    headers,
    body: method === "GET" || method === "HEAD" || body.length === 0 ? undefined : new Uint8Array(body),
  });
}

async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const length = announcedLength(response);
  if (length === undefined) {
    const body = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...headers, "content-length": String(body.length) });
    res.end(body);
    return;
  }
  // A body fault: announce the full length, then stream what the fault lets through.
  res.writeHead(response.status, { ...headers, "content-length": String(length) });
  res.flushHeaders();
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    res.write(value);
  }
  res.end();
}

export async function startStubServer(options: StubServerOptions): Promise<StubServer> {
  const host = options.host ?? "127.0.0.1";
  let origin = `http://${host}:${options.port}`;
  let stub: StripeStub | undefined;

  const server = createServer(async (req, res) => {
    try {
      if (!stub) throw new Error("stub not started");
      const body = await readBody(req);
      const response = await stub.fetch(toWebRequest(req, body, origin));
      await writeWebResponse(res, response);
    } catch (err) {
      if (err instanceof StubNetworkError) {
        req.socket.destroy();
        return;
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const tooLarge = err instanceof BodyTooLarge;
      const message = tooLarge ? "The request body is too large." : "An unknown error occurred in the Stripe stub.";
      // The rest of an oversized body is never read: close rather than reuse the connection.
      res.writeHead(tooLarge ? 413 : 500, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify({ error: { type: tooLarge ? "invalid_request_error" : "api_error", message } }));
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${host}:${port}`;
  stub = createStripeStub({ ...options, publicBaseUrl: options.publicBaseUrl ?? origin });

  return {
    url: origin,
    app: stub,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** `STUB_WEBHOOKS='[{"url":"http://127.0.0.1:8787/webhooks/stripe/demo","secret":"whsec_…"}]'` */
function webhooksFromEnv(raw: string | undefined): WebhookEndpoint[] {
  if (!raw) return [];
  const parsed = JSON.parse(raw) as unknown;
  const valid = (w: unknown) =>
    typeof w === "object" &&
    w !== null &&
    typeof (w as WebhookEndpoint).url === "string" &&
    typeof (w as WebhookEndpoint).secret === "string";
  if (!Array.isArray(parsed) || !parsed.every(valid)) {
    throw new Error('STUB_WEBHOOKS must be a JSON array of {"url": string, "secret": string}');
  }
  return parsed as WebhookEndpoint[];
}

async function main(): Promise<void> {
  const port = Number(process.env.STUB_PORT ?? 12111);
  const server = await startStubServer({
    port,
    host: process.env.STUB_HOST ?? "127.0.0.1",
    webhooks: webhooksFromEnv(process.env.STUB_WEBHOOKS),
    ...(process.env.STUB_PUBLIC_URL ? { publicBaseUrl: process.env.STUB_PUBLIC_URL } : {}),
  });
  console.log(`Stripe Identity stub listening on ${server.url}`);
  const stop = () => {
    server.close().finally(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
