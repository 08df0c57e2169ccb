import type { RequestState } from "../../src/deps.ts";
import { misconfigured, ProxyError } from "../../src/errors.ts";
import { checkRequestOrigin, originRefusalMessage } from "../../src/auth/origin.ts";
import { readBoundedText } from "../../src/http/read-body.ts";
import { jwtSecretSource, requireTenantSecret } from "../../src/tenancy/tenant-secrets.ts";
import { DEV_LOGIN_ISSUER, DEV_USER_PATTERN, mintDevToken } from "./dev-token.ts";

/** The API path the demo page calls: the tenant serving it on this host is the one tokens are for. */
export const DEMO_API_PATH = "/v1/identity/verification_sessions";

/** `{"user":"alice"}` is all a login needs; anything bigger is not the demo page. */
const MAX_LOGIN_BODY_BYTES = 1024;

function requestedUser(text: string): string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ProxyError("parameter_invalid", 'The body must be JSON: {"user": "alice"}.');
  }
  const user = typeof body === "object" && body !== null ? (body as { user?: unknown }).user : undefined;
  if (typeof user !== "string" || !DEV_USER_PATTERN.test(user)) {
    throw new ProxyError(
      "parameter_invalid",
      "`user` must be 1-64 letters, digits, `_`, `.`, `@` or `-`, starting with a letter or digit.",
      {
        param: "user",
      },
    );
  }
  return user;
}

/**
 * `POST /demo/login` (DEV_MODE only, loopback hosts only; the caller checks both): mints a short-lived
 * end-user token for the tenant that serves the demo's API on this host, as its identity provider
 * would. Refused unless that tenant's browser auth is HS256 with the dev login's issuer, and unless
 * the request is same-origin by the proxy's own browser rules. Answers `{token, subject, expires_at}`.
 */
export async function handleDevLogin(request: Request, state: RequestState): Promise<Response> {
  const url = new URL(request.url);
  const found = await state.tenants.findByHost(url.host, DEMO_API_PATH);
  if (!found)
    throw new ProxyError("resource_missing", "No tenant serves browser callers on this host, so there is nobody to sign in to.");
  const tenant = found.entry.tenant;
  state.access.tenant = tenant.id;
  if (!tenant.ok) throw misconfigured();
  const browser = tenant.config.browser;
  const auth = browser?.auth;
  const source = auth?.type === "jwt" ? jwtSecretSource(auth) : undefined;
  if (!browser || auth?.type !== "jwt" || !source || auth.issuer !== DEV_LOGIN_ISSUER) {
    throw new ProxyError(
      "operation_not_allowed",
      `The dev login signs only for a tenant whose browser auth is HS256 with issuer ${DEV_LOGIN_ISSUER}.`,
    );
  }
  const origin = checkRequestOrigin(request, url, browser.origins);
  if (!origin.ok) throw new ProxyError("origin_not_allowed", originRefusalMessage(origin.reason));
  const mediaType = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (mediaType !== "application/json") throw new ProxyError("unsupported_media_type", "The body must be application/json.");
  const user = requestedUser(await readBoundedText(request.body, request.headers.get("content-length"), MAX_LOGIN_BODY_BYTES));

  const key = new TextEncoder().encode(
    await requireTenantSecret(tenant.id, source, state.env, state.log, state.requestId, state.deps.now()),
  );
  const minted = await mintDevToken(
    { subject: user, subjectClaim: auth.subject_claim, issuer: auth.issuer, audience: auth.audience },
    key,
    state.deps.now(),
  );
  return Response.json(
    { token: minted.token, token_type: "Bearer", subject: user, expires_at: minted.expiresAt },
    { headers: { "Cache-Control": "no-store" } },
  );
}
