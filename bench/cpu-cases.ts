/**
 * The CPU cases (bench/cpu.ts): one list for the Node side that measures them and the bench-only
 * Worker that runs them (bench/workers/edge-cpu.ts), so neither can name a case the other lacks.
 */
export const CPU_CASES = [
  "create",
  "create_parse",
  "create_validate",
  "create_policy",
  "create_encode",
  "create_log",
  "retrieve",
  "create_full",
  "retrieve_full",
] as const;
export type CpuCase = (typeof CPU_CASES)[number];
