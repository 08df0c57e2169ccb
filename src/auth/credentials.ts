/**
 * What the caller presented in `Authorization`, classified without trusting it yet. A proxy key
 * (`iek_`) makes a server caller; a Stripe key is recognised only to be refused; anything else is a
 * browser's token (or nothing).
 */
export type Credential =
  | { kind: "none" }
  | { kind: "proxy_key"; key: string }
  | { kind: "stripe_key" }
  | { kind: "bearer"; token: string }
  | { kind: "malformed" };

const STRIPE_KEY = /^(sk|rk)_/;

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
  if (scheme === "basic") return { kind: "malformed" };
  return { kind: "bearer", token: secret };
}
