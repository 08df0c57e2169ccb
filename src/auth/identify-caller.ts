import type { TenantRecord } from "../config/load.ts";
import type { RequestState } from "../deps.ts";
import { ProxyError } from "../errors.ts";
import { healthyConfig } from "../tenancy/healthy-config.ts";
import { stripPrefix } from "../tenancy/resolve-tenant.ts";
import { type BrowserCaller, identifyBrowserCaller } from "./browser-caller.ts";
import { classifyAuthorization } from "./credentials.ts";
import { lookupProxyKey } from "./server-key.ts";

/** A server caller: its proxy key names the tenant (whatever the host) and may narrow its operations. */
export interface ServerCaller {
  role: "server";
  tenant: TenantRecord;
  keyName: string;
  operations: readonly string[] | undefined;
  path: string;
}

/** Who is calling, for which tenant, and the path relative to the tenant's mount point. */
export type Caller = ServerCaller | BrowserCaller;

/**
 * Who is calling: a proxy key makes a server caller (the key names the tenant); no key, or a bearer
 * token that is not a proxy key, makes a browser caller of the tenant serving the Host and path
 * prefix. Stripe keys, unknown keys and malformed headers answer 401 `authentication_required`.
 * `onTenant` learns a browser's tenant as soon as it is found, so that a refusal that follows (origin,
 * token, misconfigured tenant) is still logged with its tenant.
 */
export async function identifyCaller(request: Request, state: RequestState, onTenant: (tenant: string) => void): Promise<Caller> {
  // First, whatever the credential: a TENANTS value that cannot be read answers every caller 500.
  const directory = state.tenants;
  const credential = classifyAuthorization(request.headers.get("authorization"));
  const path = state.url.pathname;
  switch (credential.kind) {
    case "stripe_key":
      throw new ProxyError(
        "authentication_required",
        "Stripe API keys are not accepted by this proxy and were not forwarded. Use the proxy key issued for your tenant.",
      );
    case "proxy_key": {
      const entry = await lookupProxyKey(directory, credential.key);
      if (!entry) throw new ProxyError("authentication_required", "Invalid API key provided.");
      // The key names the tenant whatever the host; the tenant's prefix is accepted but not required.
      const prefix = entry.tenant.ok ? (entry.tenant.config.path_prefix ?? "") : "";
      return {
        role: "server",
        tenant: entry.tenant,
        keyName: entry.name,
        operations: entry.operations,
        path: stripPrefix(path, prefix) ?? path,
      };
    }
    case "wrong_key":
      throw new ProxyError("authentication_required", "Invalid API key provided.");
    case "malformed":
      throw new ProxyError("authentication_required", "Malformed Authorization header. Use `Authorization: Bearer <proxy key>`.");
    case "none":
    case "bearer": {
      // Without a proxy key the request is a browser's: the tenant comes from Host and path prefix.
      const token = credential.kind === "bearer" ? credential.token : undefined;
      const browser = await identifyBrowserCaller(request, token, directory, state, (tenant) => {
        onTenant(tenant.id);
        return healthyConfig(tenant, state);
      });
      if (browser) return browser;
      // No tenant serves this host for browsers, so only a server caller belongs here: answer as
      // Stripe does when the key is missing or wrong (401 before any routing).
      throw new ProxyError(
        "authentication_required",
        token === undefined
          ? "You did not provide an API key. Provide your proxy key in the Authorization header, using Bearer auth."
          : "Invalid API key provided.",
      );
    }
  }
}
