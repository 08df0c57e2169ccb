import autocannon from "autocannon";

/**
 * One bounded load run with autocannon's programmatic API: a fixed number of connections for a fixed
 * duration, then it stops by itself. Latencies are taken from every response at full precision
 * (autocannon's own histogram keeps whole milliseconds, too coarse for sub-millisecond service times).
 */

export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Rewrites each request's path (e.g. a distinct query per request, for cache misses). */
  nextPath?: () => string;
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors and timeouts. */
  errors: number;
  non2xx: number;
}

/** The q-quantile (0..1) of sorted values, nearest-rank. */
export function quantile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function runLoad(origin: string, request: LoadRequest, connections: number, durationSeconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const next = request.nextPath;
    const instance = autocannon(
      {
        url: origin,
        connections,
        duration: durationSeconds,
        timeout: 10,
        // autocannon only checks for the end of the run at each sample tick (1 s by default).
        sampleInt: 50,
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        requests: [
          next
            ? { method: request.method, path: request.path, setupRequest: (req) => ({ ...req, path: next() }) }
            : { method: request.method, path: request.path },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const sorted = Float64Array.from(latencies).sort();
        resolve({
          requests: latencies.length,
          seconds,
          rps: latencies.length / seconds,
          p50Ms: quantile(sorted, 0.5),
          p99Ms: quantile(sorted, 0.99),
          errors: result.errors + result.timeouts,
          non2xx,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) non2xx++;
      latencies.push(responseTime);
    });
  });
}
