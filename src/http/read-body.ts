import { bodyTooLarge, ProxyError } from "../errors.ts";

/**
 * Reads a request body as UTF-8 text, counting the bytes as they stream in: a missing or lying
 * Content-Length (chunked uploads) cannot get more than `limit` bytes past the proxy. A body that
 * cannot be read to its end (a broken chunked encoding, an upload the client aborted, a stream that
 * errors) is the caller's fault: 400 `parameter_invalid`, never an unhandled exception.
 */
export async function readBoundedText(
  body: ReadableStream<Uint8Array> | null,
  declaredLength: string | null,
  limit: number,
): Promise<string> {
  if (declaredLength !== null && /^\d+$/.test(declaredLength) && Number(declaredLength) > limit) throw bodyTooLarge(limit);
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      // The runtime's error says how the framing broke; the caller only needs to know it did.
      await reader.cancel().catch(() => undefined);
      throw new ProxyError("parameter_invalid", "The request body could not be read to its end.");
    }
    const { done, value } = chunk;
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  // Bodies the size of a create arrive in one chunk: decode it where it is.
  const bytes = chunks.length === 1 ? (chunks[0] as Uint8Array) : concat(chunks, total);
  try {
    return UTF8_STRICT.decode(bytes);
  } catch {
    throw new ProxyError("parameter_invalid", "The request body is not valid UTF-8.");
  }
}

/** One strict decoder per isolate: `decode` without `{ stream: true }` keeps no state between calls. */
const UTF8_STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}
