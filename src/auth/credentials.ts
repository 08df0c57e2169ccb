/**
 * What the caller presented in `Authorization`, classified without trusting it yet. A proxy key
 * (`iek_`) makes a server caller; a Stripe key is recognised only to be refused; a compact JWS is a
 * browser's end-user token; any other bearer credential is a server caller's wrong key (`wrong_key`:
 * a 401, as Stripe answers a bad key, so an SDK raises its authentication error, not a permission one).
 */
export type Credential =
  | { kind: "none" }
  | { kind: "proxy_key"; key: string }
  | { kind: "stripe_key" }
  | { kind: "bearer"; token: string }
  | { kind: "wrong_key" }
  | { kind: "malformed" };

const STRIPE_KEY = /^(sk|rk)_/;
/** A compact JWS: three base64url parts (the signature may be empty only for an unsigned token, refused later). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function classifyAuthorization(header: string | null): Credential {
  if (header === null || header.trim() === "") return { kind: "none" };
  const match = /^(\S+)\s+(\S+)$/.exec(header.trim());
  if (!match) return { kind: "malformed" };
  const scheme = (match[1] ?? "").toLowerCase();
  let secret = match[2] ?? "";
  if (scheme === "basic") {
    // `curl -u key:` sends the key as the Basic user name, as Stripe accepts.
    try {
      secret = atob(secret).replace(/:$/, "");
    } catch {
      return { kind: "malformed" };
    }
  } else if (scheme !== "bearer") {
    return { kind: "malformed" };
  }
  if (STRIPE_KEY.test(secret)) return { kind: "stripe_key" };
  if (secret.startsWith("iek_")) return { kind: "proxy_key", key: secret };
  // Browsers never use Basic: any other Basic user name is a wrong key, as is a bearer that is no JWT.
  if (scheme === "basic" || !COMPACT_JWS.test(secret)) return { kind: "wrong_key" };
  return { kind: "bearer", token: secret };
}
