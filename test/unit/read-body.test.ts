import { describe, expect, it } from "vitest";
import { ProxyError } from "../../src/errors.ts";
import { readBoundedText } from "../../src/http/read-body.ts";

const enc = new TextEncoder();

/** A body that delivers `chunks`, then fails the way a broken chunked encoding or an aborted upload does. */
function failingBody(chunks: string[], error: unknown = new TypeError("Network connection lost.")): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[i++];
      if (next === undefined) controller.error(error);
      else controller.enqueue(enc.encode(next));
    },
  });
}

function body(chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(enc.encode(c));
      controller.close();
    },
  });
}

async function refusal(promise: Promise<unknown>): Promise<ProxyError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProxyError);
  return err as ProxyError;
}

describe("readBoundedText", () => {
  it("reads a chunked body to its end (positive control)", async () => {
    expect(await readBoundedText(body(["type=", "document"]), null, 1024)).toBe("type=document");
  });

  it.each([
    ["before any byte", []],
    ["after some bytes", ["type=doc"]],
  ])("answers a body that breaks %s with 400 parameter_invalid, not an exception", async (_name, chunks) => {
    const err = await refusal(readBoundedText(failingBody(chunks), null, 1024));
    expect(err.code).toBe("parameter_invalid");
    expect(err.status).toBe(400);
    // The runtime's own message never reaches the caller.
    expect(err.message).not.toContain("Network connection lost");
  });

  it("decodes each body on its own: one chunk or many, and an invalid body leaves nothing behind for the next", async () => {
    const bytes = (...parts: number[][]) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const p of parts) controller.enqueue(new Uint8Array(p));
          controller.close();
        },
      });
    // "é" split across two chunks, then whole in one.
    expect(await readBoundedText(bytes([0x61, 0xc3], [0xa9]), null, 1024)).toBe("aé");
    expect(await readBoundedText(bytes([0x61, 0xc3, 0xa9]), null, 1024)).toBe("aé");
    // A body cut in the middle of a character is refused, and does not leak into the next body.
    expect((await refusal(readBoundedText(bytes([0x61, 0xc3]), null, 1024))).code).toBe("parameter_invalid");
    expect(await readBoundedText(bytes([0x62]), null, 1024)).toBe("b");
    expect((await refusal(readBoundedText(bytes([0xa9]), null, 1024))).code).toBe("parameter_invalid");
  });

  it("treats a non-Error rejection the same way", async () => {
    expect((await refusal(readBoundedText(failingBody(["a"], "boom"), null, 1024))).code).toBe("parameter_invalid");
  });

  it("still refuses an oversized body as body_too_large, declared or streamed", async () => {
    expect((await refusal(readBoundedText(body(["x"]), "2048", 1024))).code).toBe("body_too_large");
    expect((await refusal(readBoundedText(body(["x".repeat(600), "y".repeat(600)]), null, 1024))).code).toBe("body_too_large");
  });

  it("refuses bytes that are not UTF-8", async () => {
    const bad = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([0x61, 0xff]));
        c.close();
      },
    });
    expect((await refusal(readBoundedText(bad, null, 1024))).code).toBe("parameter_invalid");
  });
});
