import { INITIAL_GENERATION } from "./constants.ts";

/**
 * Generation markers: `{ms since epoch, base36, 10 chars}.{8 random hex}`. They are ordered as strings,
 * so an isolate that learns two generations (its own bump, and what KV says) keeps the later one and
 * a marker never goes backwards in an isolate. The random part tells apart bumps in the same ms from
 * different isolates. `"0"` (no marker yet) sorts before every generated one.
 */
const GENERATION = /^([0-9a-z]{10})\.[0-9a-f]{8}$/;

/** Whether a string read from KV is a generation marker this code wrote. */
export function isGeneration(value: string): boolean {
  return value === INITIAL_GENERATION || GENERATION.test(value);
}

/** The later of two generations. */
export function laterGeneration(a: string, b: string): string {
  return a >= b ? a : b;
}

/**
 * The generation that supersedes `current`: stamped with `nowMs`, or one ms after `current` when this
 * isolate's clock is behind whoever wrote it, so a bump always sorts after what it replaces.
 */
export function nextGeneration(current: string, nowMs: number, random: Uint8Array): string {
  const previous = GENERATION.exec(current);
  const previousMs = previous?.[1] ? Number.parseInt(previous[1], 36) : -1;
  const ms = Math.max(Math.floor(nowMs), previousMs + 1);
  let hex = "";
  for (const b of random.subarray(0, 4)) hex += b.toString(16).padStart(2, "0");
  return `${ms.toString(36).padStart(10, "0")}.${hex.padEnd(8, "0")}`;
}
