/**
 * A request body as UTF-8 text. Form bodies are text, but workerd warns on `.text()` for any
 * Content-Type it does not consider textual, which floods the test output; decoding the bytes
 * ourselves says the same thing without the warning.
 */
export async function bodyText(request: Request): Promise<string> {
  return new TextDecoder().decode(await request.arrayBuffer());
}
