/**
 * The config tooling as an operator runs it: `npm run check:config` on fixture files (exit code and
 * printed paths), `npm run schema -- --check`, and the published JSON Schema against the fixtures.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const fixture = (name: string) => `test/fixtures/config/${name}`;
const tsxCli = resolve(root, "node_modules/tsx/dist/cli.mjs");

function run(script: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [tsxCli, script, ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const checkConfig = (...args: string[]) => run("scripts/check-config.ts", ...args);

/** The `path: message` lines the CLI printed. */
function problemLines(stderr: string): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  for (const line of stderr.split("\n")) {
    const m = /^(\S+): (.+)$/.exec(line);
    if (m?.[1] && m[2] && !m[1].includes("/")) lines.set(m[1], [...(lines.get(m[1]) ?? []), m[2]]);
  }
  return lines;
}

describe("check:config on JSON files", () => {
  it("accepts a valid config and names its tenants", () => {
    const r = checkConfig(fixture("tenants.valid.json"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("valid, 3 tenants (acme, acme-admin, globex)");
    expect(r.stderr).toBe("");
  });

  it("accepts the contract's example (docs/tenant-config.md)", () => {
    const r = checkConfig(fixture("tenants.design-example.json"));
    expect(r.code, r.stderr).toBe(0);
  });

  it("prints every problem with its path and exits 1", () => {
    const r = checkConfig(fixture("tenants.invalid.json"));
    expect(r.code).toBe(1);
    const problems = problemLines(r.stderr);
    expect([...problems.keys()].sort()).toEqual(
      [
        "acme.browser.origins[0]",
        "acme.stripe.secret_key",
        "acme.verification.default_return_url",
        "acme.verification.require_live_captur",
        "acme.verification.return_urls[0]",
        "copycat.hosts[0]",
        "copycat.server_keys[0].sha256",
        "copycat.stripe.webhook_secret",
      ].sort(),
    );
    expect(problems.get("acme.verification.return_urls[0]")?.[0]).toMatch(/must be an absolute https URL/);
    expect(problems.get("copycat.hosts[0]")?.[0]).toMatch(/overlaps tenant acme/);
    expect(r.stderr).toContain("8 problems");
    // The pasted secrets are reported, never printed.
    expect(r.stderr + r.stdout).not.toMatch(/sk_live_51Hx|whsec_0123/);
  });

  it("exits 2 on a file that is not JSON", () => {
    const r = checkConfig(fixture("tenants.not-json.txt"));
    expect(r.code).toBe(2);
    // Where the JSON breaks, as line and column of the file (tenants.not-json.txt ends line 1 with a comma).
    expect(r.stderr).toMatch(/not valid JSON: line 2, column 1: /);
  });

  it("exits 2 on a missing file", () => {
    const r = checkConfig(fixture("does-not-exist.json"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read");
  });
});

describe("check:config on wrangler configs", () => {
  it("reads [vars] TENANTS written as TOML tables", () => {
    const r = checkConfig("--config", fixture("wrangler.valid.toml"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("[vars] TENANTS: valid, 1 tenant (acme)");
  });

  it("reads an environment's vars, which do not inherit the top-level ones", () => {
    const r = checkConfig("--config", fixture("wrangler.valid.toml"), "--env", "staging");
    expect(r.code).toBe(1);
    expect([...problemLines(r.stderr).keys()]).toEqual(["acme.verification.return_urls[0]"]);
  });

  it("reads TENANTS given as a JSON string and reports its problems", () => {
    const r = checkConfig("--config", fixture("wrangler.invalid.toml"));
    expect(r.code).toBe(1);
    const problems = problemLines(r.stderr);
    expect(problems.get("acme.verification.return_urls[0]")?.[0]).toMatch(/fragment/);
    expect(problems.get("acme.browser.origins[0]")?.[0]).toMatch(/https/);
  });

  it("passes when TENANTS is not in [vars] (it may be a secret)", () => {
    const r = checkConfig("--config", fixture("wrangler.no-tenants.toml"));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: test/fixtures/config/wrangler.no-tenants.toml [vars] TENANTS is not set");
  });

  it("gives the line and column where a TENANTS JSON string breaks", () => {
    const r = checkConfig("--config", fixture("wrangler.bad-json.toml"));
    expect(r.code).toBe(2);
    // The trailing comma after the hosts list: line 4 of the string, where `}` stands.
    expect(r.stderr.trim()).toBe(
      "test/fixtures/config/wrangler.bad-json.toml [vars] TENANTS is not valid JSON: line 4, column 3: Expected double-quoted property name (of the string)",
    );
  });

  it("exits 2 on unreadable TOML", () => {
    const r = checkConfig("--config", fixture("wrangler.broken.toml"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot read");
  });

  it("checks the repository's own wrangler.toml by default, warning on what would stop a deploy", () => {
    const r = checkConfig();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("wrangler.toml [vars] TENANTS: valid, 0 tenants; 4 warnings");
    expect(r.stderr).toContain("warning: wrangler.toml [vars] TENANTS has no tenants");
    expect(r.stderr).toMatch(/warning: KV namespace LIST_CACHE has the placeholder id 0{32}/);
    expect(r.stderr).toMatch(/warning: KV namespace TENANT_REGISTRY has the placeholder id 0{31}1/);
    expect(r.stderr).toMatch(/warning: KV namespace EVENTS_DEAD_LETTERS has the placeholder id 0{31}2/);
  });

  it("fails on warnings with --strict (what npm run deploy runs)", () => {
    const r = checkConfig("--strict");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("4 warnings, which stop a deploy");
  });

  it("does not warn about an empty TENANTS when a real tenant registry namespace is bound", () => {
    const r = checkConfig("--config", fixture("wrangler.registry.toml"), "--strict");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("no tenants here; they are served from the KV tenant registry");
  });

  it("exits 2 on an --env that the wrangler config does not define, naming the ones it does", () => {
    const r = checkConfig("--config", fixture("wrangler.valid.toml"), "--env", "production");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has no [env.production] (environments: staging)");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("refuses a file together with --config", () => {
    expect(checkConfig(fixture("tenants.valid.json"), "--config", "wrangler.toml").code).toBe(2);
  });
});

describe("check:config on other shapes of input", () => {
  it("detects one tenant's config (what tenants put takes), says so, and checks it as one tenant", () => {
    const r = checkConfig(fixture("acme.tenant.json"));
    expect(r.stdout).toContain("read one tenant's config (the shape `npm run tenants -- put <id>");
    expect(r.code, r.stderr).toBe(1);
    // One problem, at the tenant's own paths (not 9 of the form verification.verification).
    expect([...problemLines(r.stderr).entries()]).toEqual([
      ["tenant.verification.session_types[0]", ['must be one of "document", "id_number" (it is "selfie")']],
    ]);
  });

  it("words the validator's messages for people", () => {
    const r = checkConfig(fixture("tenants.wrong-types.json"));
    expect(r.code).toBe(1);
    const problems = problemLines(r.stderr);
    expect(problems.get("acme.stripe")).toEqual(["is required but missing"]);
    expect(problems.get("acme.hosts")).toEqual(['must be a list ([…]) (it is "app.acme.test")']);
    expect(problems.get("acme.verification.require_live_capture")).toEqual(['must be true or false (it is "yes")']);
    expect(problems.get("acme.cache.list_ttl_seconds")).toEqual(["must be at least 60 (it is 5)"]);
    expect(r.stderr).not.toMatch(/Invalid (key|type|value)/);
  });

  it("reads the TENANTS line of .dev.vars.example (single-quoted JSON)", () => {
    const r = checkConfig(".dev.vars.example");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(".dev.vars.example TENANTS: valid, 1 tenant (demo)");
  });

  it("points at a double-quoted TENANTS line with its line number and the fix", () => {
    const r = checkConfig(fixture("double-quoted.dev.vars"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/double-quoted\.dev\.vars line 2: TENANTS is not valid JSON at line 1, column \d+: .*single quotes/);
  });
});

describe("docs/tenant-config.schema.json", () => {
  it("is up to date with src/config/schema.ts (npm run schema -- --check)", () => {
    const r = run("scripts/gen-schema.ts", "--check");
    expect(r.code, r.stderr).toBe(0);
  });

  const schema = JSON.parse(readFileSync(resolve(root, "docs/tenant-config.schema.json"), "utf8")) as object;
  // ajv-formats is CommonJS; under ESM its default export may arrive wrapped.
  const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  const validate = ajv.compile(schema);
  const load = (name: string) => JSON.parse(readFileSync(resolve(root, fixture(name)), "utf8")) as unknown;

  it.each(["tenants.valid.json", "tenants.design-example.json"])("accepts %s", (name) => {
    expect(validate(load(name)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("rejects what the schema's shapes rule out (misspelt field, bad tenant id, missing stripe)", () => {
    const bad = load("tenants.invalid.json");
    expect(validate(bad)).toBe(false);
    expect(validate({ "Bad Id": load("tenants.design-example.json") })).toBe(false);
    expect(validate({ acme: { verification: { session_types: ["document"] } } })).toBe(false);
  });
});
