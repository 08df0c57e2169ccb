import { INITIAL_GENERATION } from "./constants.ts";
import { bytesToHex } from "../encoding.ts";

/**
 * Generation markers: `{ms since epoch, base36, 10 chars}.{sequence, base36, 4 chars}.{8 random hex}`.
 * They are ordered as strings, so an isolate that learns two generations (its own bump, and what KV
 * says) keeps the later one and a marker never goes backwards in an isolate. Bumps within one ms (of
 * this clock, or of a clock ahead of it) count up the sequence instead of the time, so a busy isolate's
 * markers never run ahead of the clock, where another isolate's later bump would sort before them. The
 * random part tells apart bumps in the same ms from different isolates. `"0"` (no marker yet) sorts
 * before every generated one.
 */
const GENERATION = /^([0-9a-z]{10})\.([0-9a-z]{4})\.[0-9a-f]{8}$/;
const SEQUENCE_LIMIT = 36 ** 4;

/** Whether a string read from KV is a generation marker this code wrote. */
export function isGeneration(value: string): boolean {
  return value === INITIAL_GENERATION || GENERATION.test(value);
}

/** The later of two generations. */
export function laterGeneration(a: string, b: string): string {
  return a >= b ? a : b;
}

/**
 * The generation that supersedes `current`: stamped with `nowMs`, or with `current`'s ms when this
 * isolate's clock is not past it (same ms, or behind whoever wrote it) and the next sequence number, so
 * a bump always sorts after what it replaces and is never stamped later than the clocks involved.
 */
export function nextGeneration(current: string, nowMs: number, random: Uint8Array): string {
  const previous = GENERATION.exec(current);
  const previousMs = previous?.[1] ? Number.parseInt(previous[1], 36) : -1;
  const previousSeq = previous?.[2] ? Number.parseInt(previous[2], 36) : -1;
  let ms = Math.max(Math.floor(nowMs), previousMs);
  let seq = ms === previousMs ? previousSeq + 1 : 0;
  if (seq >= SEQUENCE_LIMIT) {
    // 1.7 million bumps in one ms: only then does a marker step ahead of the clock.
    ms += 1;
    seq = 0;
  }
  const hex = bytesToHex(random.subarray(0, 4));
  return `${ms.toString(36).padStart(10, "0")}.${seq.toString(36).padStart(4, "0")}.${hex.padEnd(8, "0")}`;
}
