import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Bundles, buildBundles, readManifest } from "../../bench/build.ts";
import { signBrowserToken } from "../../bench/browser-token.ts";
import { assertRowAnswers, assertRunAnswered, probe, probeProblem } from "../../bench/probe.ts";
import { type RawWorkerd, startRawWorkerd } from "../../bench/raw-workerd.ts";
import type { RunRecord } from "../../bench/results.ts";
import { edgeBindings, effectiveCompatibilityDate, RATE_LIMIT_STANDIN_MODULE } from "../../bench/runtime.ts";
import { emptyOutput } from "../../bench/runtime-output.ts";
import { SCENARIOS, type Scenario } from "../../bench/scenarios.ts";
import { startUpstream } from "../../bench/upstream.ts";

/**
 * The browser retrieve row measures what it names (token verified, session owned, browser's view
 * answered) and a broken one stops the bench instead of timing a cheap refusal: real requests to
 * identity-edge on `workerd serve`, with the row's request and with the token broken on purpose.
 */

const browserRow = SCENARIOS.find((s) => s.id === "raw_edge_browser_retrieve") as Scenario;
const serverRow = SCENARIOS.find((s) => s.id === "raw_edge_retrieve") as Scenario;

/** The browser row with another token in `Authorization`. */
function withToken(token: string): Scenario {
  return {
    ...browserRow,
    request: () => {
      const req = browserRow.request();
      return { ...req, headers: { ...req.headers, authorization: `Bearer ${token}` } };
    },
  };
}

let upstream: { url: string; server: Server };
let workerd: RawWorkerd;
let origin: string;

beforeAll(async () => {
  // The bundles of the last bench build (the smoke test's), else a build of our own.
  const bundles: Bundles = await readManifest().catch(() => buildBundles());
  upstream = await startUpstream();
  workerd = await startRawWorkerd({
    bundles,
    compatibilityDate: effectiveCompatibilityDate(bundles.compatibilityDate),
    upstream: upstream.url,
    edgeBindings: edgeBindings(upstream.url, "error"),
    rateLimitStandin: RATE_LIMIT_STANDIN_MODULE,
    output: emptyOutput(),
  });
  origin = workerd.urls.raw_edge;
}, 120_000);

afterAll(async () => {
  await workerd?.stop();
  await new Promise((resolve) => upstream?.server.close(resolve));
});

describe("the browser retrieve row", () => {
  it("answers 200 with the owner's browser view of the session", async () => {
    const answer = await probe(origin, browserRow);
    expect(answer.status, answer.body).toBe(200);
    expect(probeProblem(browserRow, answer)).toBeUndefined();
    const session = JSON.parse(answer.body) as Record<string, unknown>;
    expect(typeof session.client_secret).toBe("string");
    expect(session).not.toHaveProperty("metadata");
    await expect(assertRowAnswers(origin, browserRow)).resolves.toBeUndefined();
  });

  it("stops on a token for another user (ownership: 404), naming the row", async () => {
    const other = withToken(await signBrowserToken(Date.now(), { subject: "user_someone_else" }));
    const answer = await probe(origin, other);
    expect(answer.status).toBe(404);
    await expect(assertRowAnswers(origin, other)).rejects.toThrow(/browser retrieve \(JWT \+ ownership\) answered 404/);
  });

  it("stops on a token signed with another secret, and on an expired one (401)", async () => {
    const forged = withToken(await signBrowserToken(Date.now(), { secret: "another-secret-of-forty-bytes-0000000000" }));
    await expect(assertRowAnswers(origin, forged)).rejects.toThrow(/answered 401/);
    const expired = withToken(await signBrowserToken(Date.now() - 3_600_000, { lifetimeSeconds: 60 }));
    await expect(assertRowAnswers(origin, expired)).rejects.toThrow(/answered 401/);
  });

  it("refuses a 200 that is not the browser's view (a server caller's answer)", async () => {
    const asServer: Scenario = { ...serverRow, checkAnswer: browserRow.checkAnswer };
    const answer = await probe(origin, asServer);
    expect(answer.status).toBe(200);
    expect(probeProblem(asServer, answer)).toMatch(/server's view/);
  });
});

describe("a measured run", () => {
  const record = (non2xx: number): RunRecord => ({
    round: 2,
    connections: 10,
    load: { requests: 1000, seconds: 3, rps: 333, p50Ms: 1, p99Ms: 2, errors: 0, non2xx },
    logLines: 1000,
    expectedCache: undefined,
    upstreamLists: 0,
    workerdCpuMsPerRequest: 0.2,
  });

  it("with any non-2xx answer stops the bench, naming the row and the round", () => {
    expect(() => assertRunAnswered(browserRow, record(3))).toThrow(
      /browser retrieve \(JWT \+ ownership\) answered 3 non-2xx of 1000 requests in round 3 @10/,
    );
    expect(() => assertRunAnswered(browserRow, record(0))).not.toThrow();
  });
});
