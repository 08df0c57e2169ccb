// biome-ignore-all lint/suspicious/noExplicitAny: these tests read arbitrary Stripe JSON bodies field by field.
/**
 * What a Stripe SDK user meets through the proxy (issue 15, points 1, 2, 5, 9, 11): booleans as
 * stripe-python sends them, the empty-string idioms, the Stripe-Version rule, metadata keys named like
 * Object.prototype members, and which Idempotency-Key comes back. The bodies the stub receives are
 * read raw, as they went over the wire.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createHarness, type Harness, PROXY_KEYS, SECRETS, testTenants } from "../helpers/harness.ts";
import type { Json } from "../helpers/json.ts";
import { useLogCapture } from "../helpers/log-capture.ts";

const SESSIONS = "/v1/identity/verification_sessions";
const PINNED = "2026-07-29.dahlia";
const BETA = "2026-10-28.endive; identity_beta=v1";

let h: Harness;
/** Raw upstream bodies, in order. */
let wire: string[];
const logs = useLogCapture({ secrets: SECRETS });

async function harness(apiVersions?: string[]): Promise<Harness> {
  const tenants = (await testTenants()) as Json;
  if (apiVersions) tenants.acme.stripe.api_versions = apiVersions;
  wire = [];
  return createHarness({
    tenants,
    upstream: (stubFetch) => async (r) => {
      wire.push(await r.clone().text());
      return stubFetch(r);
    },
  });
}

beforeEach(async () => {
  h = await harness();
});

async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}

async function create(body: string, init: { headers?: Record<string, string> } = {}): Promise<Response> {
  const res = await h.post(SESSIONS, body, { key: PROXY_KEYS.acme, ...init });
  if (res.status === 200) {
    const session = await json(res.clone());
    logs.secret(session.client_secret, session.url);
  }
  return res;
}

describe("booleans as stripe-python sends them (point 1)", () => {
  it("True/False in any case are accepted, forwarded canonical, and the policy reads their meaning", async () => {
    const ok = await create(
      "type=document&options[document][require_live_capture]=True&options[document][require_id_number]=FALSE",
    );
    expect(ok.status).toBe(200);
    expect(wire.at(-1)).toContain("options[document][require_live_capture]=true");
    expect(wire.at(-1)).toContain("options[document][require_id_number]=false");
    expect(wire.at(-1)).not.toMatch(/=True|=FALSE/);
  });

  it("a required check sent as False is still a policy refusal (the meaning, not the spelling, is checked)", async () => {
    const before = h.stub.requests.length;
    for (const spelling of ["False", "FALSE", "false"]) {
      const res = await create(`type=document&options[document][require_live_capture]=${spelling}`);
      expect(res.status).toBe(400);
      expect((await json(res)).error).toMatchObject({
        code: "policy_violation",
        param: "options[document][require_live_capture]",
      });
    }
    expect(h.stub.requests.length).toBe(before);
  });
});

describe("documented empty-string idioms (point 2)", () => {
  it("metadata= on update unsets all keys and reaches Stripe as sent", async () => {
    const created = await json(await create("type=document&metadata[a]=1"));
    const res = await h.post(`${SESSIONS}/${created.id}`, "metadata=", { key: PROXY_KEYS.acme });
    expect(res.status).toBe(200);
    expect(wire.at(-1)).toBe("metadata=");
  });

  it("options[document]= stays refused: it would unset the tenant's document policy", async () => {
    const created = await json(await create("type=document"));
    const res = await h.post(`${SESSIONS}/${created.id}`, "options[document]=", { key: PROXY_KEYS.acme });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "policy_violation", param: "options[document]" });
  });
});

describe("metadata keys named like Object.prototype members (point 9)", () => {
  const names = ["constructor", "toString", "valueOf", "__proto__", "hasOwnProperty"];

  it("a form body's keys all reach Stripe, none dropped", async () => {
    const body = `type=document&${names.map((k, i) => `metadata[${k}]=v${i}`).join("&")}`;
    const res = await create(body);
    expect(res.status).toBe(200);
    for (const [i, k] of names.entries()) expect(wire.at(-1)).toContain(`metadata[${k}]=v${i}`);
  });

  it("a JSON body's keys too", async () => {
    const metadata = `{${names.map((k, i) => `"${k}":"v${i}"`).join(",")}}`;
    const res = await create(`{"type":"document","metadata":${metadata}}`, { headers: { "Content-Type": "application/json" } });
    expect(res.status).toBe(200);
    for (const [i, k] of names.entries()) expect(wire.at(-1)).toContain(`metadata[${k}]=v${i}`);
  });
});

describe("Idempotency-Key in the answer (point 11)", () => {
  it("the key the proxy generated is sent upstream but never shown to the caller", async () => {
    const res = await create("type=document");
    expect(res.status).toBe(200);
    expect(h.stub.requests.at(-1)?.headers.idempotencyKey).toMatch(/^iedge_/);
    expect(res.headers.get("Idempotency-Key")).toBeNull();
    expect([...res.headers.values()].join(" ")).not.toContain("iedge_");
  });

  it("control: the caller's own key comes back, as from Stripe", async () => {
    const res = await create("type=document", { headers: { "Idempotency-Key": "order-7" } });
    expect(res.headers.get("Idempotency-Key")).toBe("order-7");
  });
});

describe("Stripe-Version: one rule, never a silent override (point 5)", () => {
  async function listWith(version?: string): Promise<Response> {
    return h.call(`${SESSIONS}?limit=1`, { key: PROXY_KEYS.acme, headers: version ? { "Stripe-Version": version } : {} });
  }

  it("no Stripe-Version from the caller → the tenant's pinned version", async () => {
    const res = await listWith();
    expect(res.status).toBe(200);
    expect(h.stub.requests.at(-1)?.headers.stripeVersion).toBe(PINNED);
  });

  it("the pinned version sent by the caller is forwarded", async () => {
    expect((await listWith(PINNED)).status).toBe(200);
    expect(h.stub.requests.at(-1)?.headers.stripeVersion).toBe(PINNED);
  });

  it("another version, not accepted → 400 naming what is accepted, nothing forwarded (no silent replacement)", async () => {
    const before = h.stub.requests.length;
    for (const version of ["2022-11-15", "2026-10-28.endive", BETA]) {
      const res = await listWith(version);
      expect(res.status).toBe(400);
      const error = (await json(res)).error;
      expect(error.code).toBe("parameter_invalid");
      expect(error.message).toContain(`Stripe-Version ${version} is not accepted`);
      expect(error.message).toContain(`Accepted: ${PINNED}`);
    }
    expect(h.stub.requests.length).toBe(before);
  });

  it("a malformed version → 400, whatever the tenant accepts", async () => {
    h = await harness(["*"]);
    for (const version of ["latest", "2026-07-29.dahlia; x", "2026-7-29"]) {
      const res = await listWith(version);
      expect(res.status).toBe(400);
      expect((await json(res)).error.message).toContain("Invalid Stripe-Version header");
    }
    expect(h.stub.requests).toHaveLength(0);
  });

  it("versions the tenant lists are forwarded as the caller sent them, betas only when listed", async () => {
    h = await harness([PINNED, "2022-11-15", BETA]);
    for (const version of ["2022-11-15", BETA, "2026-10-28.endive;identity_beta=v1"]) {
      expect((await listWith(version)).status).toBe(200);
      expect(h.stub.requests.at(-1)?.headers.stripeVersion).toBe(version === "2022-11-15" ? version : BETA);
    }
    // The beta's base version is not the beta: it is not listed, so it is refused.
    expect((await listWith("2026-10-28.endive")).status).toBe(400);
    // And the pin still applies when the caller sends none.
    expect((await listWith()).status).toBe(200);
    expect(h.stub.requests.at(-1)?.headers.stripeVersion).toBe(PINNED);
  });

  it("\"*\" accepts any well-formed version, stripe-node 23's and 12's included", async () => {
    h = await harness(["*"]);
    for (const version of ["2026-10-28.endive", "2022-11-15"]) {
      expect((await listWith(version)).status).toBe(200);
      expect(h.stub.requests.at(-1)?.headers.stripeVersion).toBe(version);
    }
  });

  it("a parameter the current spec lacks (older API versions had it) is refused by name, never dropped", async () => {
    h = await harness(["*"]);
    const res = await h.post(SESSIONS, "type=document&options[email][require_verification]=true", {
      key: PROXY_KEYS.acme,
      headers: { "Stripe-Version": "2022-11-15" },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: "parameter_unknown", param: "options[email]" });
    expect(h.stub.requests).toHaveLength(0);
  });
});
