import type { TenantRecord } from "../config/load.ts";
import type { TenantConfig } from "../config/schema.ts";
import type { RequestState } from "../deps.ts";
import { misconfigured } from "../errors.ts";

/**
 * A tenant's config, or 500 `tenant_misconfigured` when its config failed the schema: each issue
 * goes to the log (the caller sees none of them).
 */
export function healthyConfig(tenant: TenantRecord, state: RequestState): TenantConfig {
  if (tenant.ok) return tenant.config;
  for (const issue of tenant.issues) {
    state.log.error("tenant_config_invalid", {
      request_id: state.requestId,
      tenant: tenant.id,
      detail: `${issue.path}: ${issue.message}`,
    });
  }
  throw misconfigured();
}
