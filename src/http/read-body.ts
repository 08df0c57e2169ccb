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
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ProxyError("parameter_invalid", "The request body is not valid UTF-8.");
  }
}
