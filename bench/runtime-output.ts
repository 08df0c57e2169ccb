import type { Readable } from "node:stream";
import { BENCH_BROWSER_TOKEN } from "./browser-token.ts";
import { BENCH_SECRETS } from "./tenant.ts";

/** Everything that must never reach the Workers' output: the tenant's secrets and the browser rows' token. */
const SECRETS: readonly string[] = [...BENCH_SECRETS, BENCH_BROWSER_TOKEN];

/**
 * What the Workers printed: workerd's stdout/stderr (every `console.log`, i.e. identity-edge's JSON
 * log lines) is drained in the bench process and discarded after counting lines, access-log lines
 * and their cache results, and checking that no bench secret appears in it. The Worker still pays
 * for producing its logs; no terminal rendering is measured.
 */

const MARKERS = {
  request: '"event":"request"',
  HIT: '"cache":"HIT"',
  MISS: '"cache":"MISS"',
  STALE: '"cache":"STALE"',
  BYPASS: '"cache":"BYPASS"',
} as const;
export type CountedMarker = keyof typeof MARKERS;

export interface RuntimeOutput {
  lines: number;
  bytes: number;
  /** Access-log lines (`"event":"request"`) and their `cache` results. */
  counts: Record<CountedMarker, number>;
  /** Occurrences of any bench secret. */
  secretHits: number;
  /** The first few lines, for a report. */
  sample: string[];
}

export function emptyOutput(): RuntimeOutput {
  return { lines: 0, bytes: 0, counts: { request: 0, HIT: 0, MISS: 0, STALE: 0, BYPASS: 0 }, secretHits: 0, sample: [] };
}

export function snapshot(output: RuntimeOutput): RuntimeOutput {
  return { ...output, counts: { ...output.counts }, sample: [...output.sample] };
}

function countFrom(text: string, needle: string, from: number): number {
  let n = 0;
  for (let i = text.indexOf(needle, from); i !== -1; i = text.indexOf(needle, i + 1)) n++;
  return n;
}

/**
 * Counts into `output` what `stream` carries. Each chunk is searched together with the previous
 * chunk's tail, so a match split across chunks is still seen, and only matches ending in the new
 * chunk are counted, so none is counted twice.
 */
export function drain(stream: Readable, output: RuntimeOutput): void {
  const needles = [...SECRETS, ...Object.values(MARKERS)];
  const longest = Math.max(...needles.map((s) => s.length));
  let tail = "";
  stream.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    output.bytes += chunk.byteLength;
    output.lines += countFrom(text, "\n", 0);
    const window = tail + text;
    const from = (needle: string) => Math.max(0, tail.length - needle.length + 1);
    for (const [name, marker] of Object.entries(MARKERS) as [CountedMarker, string][])
      output.counts[name] += countFrom(window, marker, from(marker));
    for (const secret of SECRETS) output.secretHits += countFrom(window, secret, from(secret));
    tail = window.slice(-longest);
    if (output.sample.length < 5) {
      const lines = text.split("\n").filter((l) => l.trim() !== "");
      output.sample.push(...lines.slice(0, 5 - output.sample.length));
    }
  });
}
