/**
 * Entry point of `npm run events -- <command>` (see scripts/events/cli.ts and docs/events.md).
 */
import { runEventsCli } from "./events/cli.ts";

process.exitCode = await runEventsCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: { ...process.env },
  fetch: (request) => fetch(request),
});
