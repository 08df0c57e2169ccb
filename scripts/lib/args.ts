/**
 * The command line of every project script, on node:util `parseArgs`: `--help` (or `-h`) prints the
 * usage and exits 0; an unknown flag, a missing value or a bad number prints one line ending in
 * "see --help" and exits 2, before the script does anything.
 */
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";

export interface CommandSpec<T extends ParseArgsOptionsConfig> {
  /** How a person runs it, e.g. `npm run load --`: the prefix of every error line. */
  command: string;
  /** The full help text, printed by --help. */
  usage: string;
  options: T;
  allowPositionals?: boolean;
}

const HELP = { help: { type: "boolean", short: "h" } } as const;

/** node's parseArgs messages are long and talk about `--` escaping; one short sentence is enough. */
function shortMessage(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === "string" ? e.message : String(err);
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(message)?.[1];
    return flag ? `unknown option ${flag}` : "unknown option";
  }
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const arg = /'([^']+)'/.exec(message)?.[1];
    return arg ? `unexpected argument ${arg}` : "unexpected argument";
  }
  return (message.split(/\.\s/)[0] ?? message).replace(/\.$/, "");
}

/** Prints `<command>: <message> (see --help)` and exits 2. */
export function usageError(spec: { command: string }, message: string): never {
  console.error(`${spec.command}: ${message} (see --help)`);
  process.exit(2);
}

export function parseCommandLine<const T extends ParseArgsOptionsConfig>(
  spec: CommandSpec<T>,
  argv: readonly string[] = process.argv.slice(2),
) {
  let parsed: ReturnType<typeof parseArgs<{ options: T & typeof HELP; allowPositionals: boolean; strict: true }>>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...spec.options, ...HELP },
      allowPositionals: spec.allowPositionals ?? false,
      strict: true,
    });
  } catch (err) {
    // `--help` wins over whatever else is wrong on the line.
    if (argv.includes("--help") || argv.includes("-h")) printUsage(spec);
    usageError(spec, shortMessage(err));
  }
  if ((parsed.values as { help?: boolean }).help) printUsage(spec);
  return parsed;
}

function printUsage(spec: { usage: string }): never {
  console.log(spec.usage);
  process.exit(0);
}

/** A positive number (or integer) flag value; anything else is a usage error. */
export function positiveNumber(
  spec: { command: string },
  flag: string,
  value: string | undefined,
  fallback: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    usageError(spec, `${flag} needs a positive ${integer ? "integer" : "number"}, not ${JSON.stringify(value)}`);
  return n;
}

/** A TCP port from a flag or an environment variable (the flag wins). */
export function portNumber(spec: { command: string }, flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    usageError(spec, `${flag} needs a port number (1-65535), not ${JSON.stringify(value)}`);
  return n;
}
