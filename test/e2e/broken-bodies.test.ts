/**
 * End to end: request bodies that break off at the HTTP layer, sent over a raw socket to the real
 * `wrangler dev` (workerd's own HTTP parser), which the in-process harness cannot produce: a chunked
 * body with a chunk size that is not hex, and an upload whose connection is cut mid-body. Each must be a
 * deliberate 400 (or no answer, when the client is gone) and never an `unhandled_exception`.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET } from "../../dev/demo-tenant.ts";
import { type DevStack, startDevStack } from "../../dev/stack.ts";

let stack: DevStack;
let port: number;

beforeAll(async () => {
  stack = await startDevStack();
  port = Number(new URL(stack.proxyUrl).port);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  const out = stack?.output() ?? "";
  for (const secret of [DEMO_PROXY_KEY, DEMO_STRIPE_KEY, DEMO_WEBHOOK_SECRET]) {
    expect(out.includes(secret), "a secret appeared in wrangler dev's output").toBe(false);
  }
});

/** Writes `head` + `body` on a raw socket; resolves with what came back once the server closes or `waitMs` passes. */
function raw(parts: string[], options: { endAfter?: boolean; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    const done = () => {
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, options.waitMs ?? 5_000);
    socket.on("data", (d) => {
      received += d.toString();
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      if (received !== "") resolve(received);
      else reject(err);
    });
    socket.on("connect", () => {
      for (const p of parts) socket.write(p);
      if (options.endAfter) socket.end();
    });
  });
}

const request = (path: string, headers: Record<string, string>) =>
  `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;

const unhandled = () =>
  stack
    .output()
    .split("\n")
    .filter((l) => l.includes("unhandled_exception"));

/** The first access line of the Worker matching `match`, waiting up to 3 s for wrangler to print it. */
async function accessLine(match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown> | undefined> {
  for (let i = 0; i < 30; i++) {
    for (const text of stack.output().split("\n")) {
      if (!text.includes('"event":"request"')) continue;
      const line = JSON.parse(text.slice(text.indexOf("{"))) as Record<string, unknown>;
      if (match(line)) return line;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

describe("bodies that break off, against wrangler dev", () => {
  const api = {
    Authorization: `Bearer ${DEMO_PROXY_KEY}`,
    "Content-Type": "application/x-www-form-urlencoded",
    "Transfer-Encoding": "chunked",
  };

  it("positive control: a well-formed chunked create succeeds", async () => {
    const answer = await raw([request("/v1/identity/verification_sessions", api), "d\r\ntype=document\r\n0\r\n\r\n"]);
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  });

  it("a chunk size that is not hex: the Worker answers 400 parameter_invalid, never an unhandled exception", async () => {
    const answer = await raw([request("/v1/identity/verification_sessions", api), "5\r\ntype=\r\nzz\r\ndocument\r\n0\r\n\r\n"]);
    // What the socket gets back is miniflare's dev entry worker (it forwards the body to the Worker and
    // reports its own failure to do so as a text/plain 500); not part of the deployed Worker. The
    // Worker's own answer is in its access line.
    expect(answer).not.toMatch(/internal_error|unhandled/);
    const line = await accessLine(
      (l) => l.method === "POST" && l.route === "/v1/identity/verification_sessions" && l.status !== 200,
    );
    expect(line).toMatchObject({ status: 400, error_code: "parameter_invalid" });
    expect(unhandled()).toEqual([]);
  });

  it("an upload cut off mid-body is not an unhandled exception", async () => {
    await raw(
      [
        request("/v1/identity/verification_sessions", { ...api, "Transfer-Encoding": "", "Content-Length": "100" }).replace(
          "Transfer-Encoding: \r\n",
          "",
        ),
        "type=doc",
      ],
      {
        endAfter: true,
        waitMs: 3_000,
      },
    );
    await raw([request("/webhooks/stripe/demo", api), '5\r\n{"obj\r\nzz\r\n'], { endAfter: true, waitMs: 3_000 });
    // The proxy may log the request as a 400 or not at all; it never logs an unexpected exception.
    await new Promise((r) => setTimeout(r, 500));
    expect(unhandled()).toEqual([]);
  });
});
