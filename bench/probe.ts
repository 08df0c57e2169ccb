import { request } from "node:http";
import type { RunRecord } from "./results.ts";
import type { Scenario } from "./scenarios.ts";

/**
 * A row is measured only while it answers what it is about. Every row expects 200s: a row that
 * answered 401 or 404 would time a refusal (much cheaper than the work the row names) and report
 * it as that work, so the bench stops instead.
 */

export interface ProbeAnswer {
  status: number;
  cache: string | null;
  body: string;
}

/**
 * One request to a row's target (priming a cache, checking the row answers at all), sent as the load
 * generator sends it: with node:http, which keeps the row's `Host` header (Node's `fetch` replaces it).
 */
export function probe(origin: string, s: Scenario): Promise<ProbeAnswer> {
  const req = s.request();
  const path = req.nextPath ? req.nextPath() : req.path;
  return new Promise((resolve, reject) => {
    const outgoing = request(`${origin}${path}`, { method: req.method, headers: req.headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("error", reject);
      response.on("end", () => {
        const cache = response.headers["x-cache"];
        resolve({
          status: response.statusCode ?? 0,
          cache: typeof cache === "string" ? cache : null,
          body: Buffer.concat(chunks).toString("utf8"),
        });
      });
    });
    outgoing.on("error", reject);
    outgoing.end(req.body);
  });
}

/** What is wrong with a row's probe answer, or undefined when the row answers as it should. */
export function probeProblem(s: Scenario, answer: ProbeAnswer): string | undefined {
  if (answer.status !== 200) return `${s.label} answered ${answer.status} to a probe: ${answer.body.slice(0, 300)}`;
  const wrong = s.checkAnswer?.(answer.body);
  return wrong === undefined ? undefined : `${s.label} answered 200, but ${wrong}`;
}

/** Throws unless the row answers as it should. */
export async function assertRowAnswers(origin: string, s: Scenario): Promise<void> {
  const problem = probeProblem(s, await probe(origin, s));
  if (problem) throw new Error(problem);
}

/** Throws when a measured run saw any answer other than a 2xx (the bench stops: the row's numbers would lie). */
export function assertRunAnswered(s: Scenario, record: RunRecord): void {
  if (record.load.non2xx === 0) return;
  throw new Error(
    `${s.label} answered ${record.load.non2xx} non-2xx of ${record.load.requests} requests in round ${record.round + 1} @${record.connections}: its numbers would time an error path, so the bench stops`,
  );
}
