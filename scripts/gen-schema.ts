/**
 * Generates docs/tenant-config.schema.json (JSON Schema, draft-07) from the one tenant config schema in
 * src/config/schema.ts, so editors and other tools can validate TENANTS without running our code.
 *
 *   npm run schema              (writes the file)
 *   npm run schema -- --check   (fails when the committed file is stale; CI runs this)
 *
 * The JSON Schema describes shapes, formats and patterns. Rules that need code (return_urls entries
 * canonical and https, default_return_url inside return_urls, origins https) are `check` actions that
 * JSON Schema cannot express; `npm run check:config` applies them, and they are listed in the
 * schema's description.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { toJsonSchema } from "@valibot/to-json-schema";
import { TenantsSchema } from "../src/config/schema.ts";
import { parseCommandLine } from "./lib/args.ts";

const { values } = parseCommandLine({
  command: "npm run schema --",
  usage: `usage: npm run schema [-- --check]

Regenerates docs/tenant-config.schema.json (the tenant config as JSON Schema) from src/config/schema.ts.

  --check   change nothing; exit 1 when the committed file is stale (CI runs this)`,
  options: { check: { type: "boolean" } },
});

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outPath = resolve(root, "docs/tenant-config.schema.json");

export function generateTenantConfigJsonSchema(): string {
  const schema = toJsonSchema(TenantsSchema, {
    target: "draft-07",
    // The input type: fields with defaults are optional, which is what an operator writes.
    typeMode: "input",
    errorMode: "throw",
    ignoreActions: ["check", "partial_check"],
  });
  const document = {
    $schema: schema.$schema,
    title: "identity-edge TENANTS (tenant config v1)",
    description:
      "Tenant id -> tenant config. Generated from src/config/schema.ts by `npm run schema`; do not edit. " +
      "Also enforced by `npm run check:config` and at run time, beyond this schema: return_urls entries are canonical " +
      "https URLs (http only for localhost/127.0.0.1) without userinfo, query or fragment; default_return_url matches an " +
      "entry of return_urls; browser origins are https (http only for localhost/127.0.0.1); events.url is https (http only " +
      "for localhost/127.0.0.1) without userinfo or fragment; no secrets pasted as values; " +
      "no two tenants share a host and overlapping path prefix or a server key hash. See docs/tenant-config.md.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

const text = generateTenantConfigJsonSchema();
if (values.check) {
  let current = "";
  try {
    current = readFileSync(outPath, "utf8");
  } catch {
    // Missing counts as stale.
  }
  if (current !== text) {
    console.error("docs/tenant-config.schema.json is stale: run `npm run schema` and commit the result.");
    process.exitCode = 1;
  } else console.log("docs/tenant-config.schema.json is up to date.");
} else {
  writeFileSync(outPath, text);
  console.log(`wrote ${outPath}`);
}
