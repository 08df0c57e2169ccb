import autocannon from "autocannon";

/**
 * The one load driver, on autocannon's programmatic API: the benchmark's measured runs (`measure`: one
 * request shape for a fixed duration) and the load test's mixed run (`drive` with its own request
 * builder and response handler, bounded by a request count and a deadline) both go through `drive`.
 * Latencies are taken from every response at full precision (autocannon's own histogram keeps whole
 * milliseconds, too coarse for sub-millisecond service times).
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

export interface DriveOptions {
  origin: string;
  connections: number;
  /** Per-request timeout (s). */
  timeoutSeconds: number;
  /** The request (default method, path, headers, body) and autocannon's per-request hooks. */
  request: autocannon.Request;
  /** Run for this many seconds… */
  durationSeconds?: number;
  /** …or until this many requests are done, stopped after `maxSeconds` at the latest. */
  maxRequests?: number;
  maxSeconds?: number;
}

export interface DriveResult {
  /** autocannon's own result (its latency histogram in whole milliseconds, errors, timeouts, non2xx). */
  result: autocannon.Result;
  /** Every response's latency (ms, full precision), sorted. */
  latencies: Float64Array;
  /** Non-2xx answers counted from every response. */
  non2xx: number;
  seconds: number;
}

export function drive(options: DriveOptions): Promise<DriveResult> {
  const latencies: number[] = [];
  let non2xx = 0;
  const started = process.hrtime.bigint();
  let stopTimer: NodeJS.Timeout | undefined;
  return new Promise<DriveResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        timeout: options.timeoutSeconds,
        ...(options.durationSeconds !== undefined
          ? // autocannon only checks for the end of the run at each sample tick (1 s by default).
            { duration: options.durationSeconds, sampleInt: 50 }
          : { amount: options.maxRequests }),
        ...(options.request.method ? { method: options.request.method } : {}),
        ...(options.request.headers ? { headers: options.request.headers as Record<string, string> } : {}),
        ...(typeof options.request.body === "string" ? { body: options.request.body } : {}),
        requests: [options.request],
      },
      (err, result) => {
        clearTimeout(stopTimer);
        if (err) return reject(err);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        resolve({ result, latencies: Float64Array.from(latencies).sort(), non2xx, seconds });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode < 200 || statusCode >= 300) non2xx++;
      latencies.push(responseTime);
    });
    if (options.maxSeconds !== undefined) stopTimer = setTimeout(() => instance.stop(), options.maxSeconds * 1000);
  });
}

/** One bounded benchmark run: `request` on `connections` connections for `durationSeconds`. */
export async function measure(
  origin: string,
  request: LoadRequest,
  connections: number,
  durationSeconds: number,
): Promise<LoadResult> {
  const next = request.nextPath;
  const { result, latencies, non2xx, seconds } = await drive({
    origin,
    connections,
    durationSeconds,
    timeoutSeconds: 10,
    request: {
      method: request.method,
      path: request.path,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      ...(next ? { setupRequest: (req: autocannon.Request) => ({ ...req, path: next() }) } : {}),
    },
  });
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    errors: result.errors + result.timeouts,
    non2xx,
  };
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
