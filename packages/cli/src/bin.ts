#!/usr/bin/env node
import { runCli } from './run-cli.js';

// `roster watch --json | head -1` closes our stdout: that is the reader being done, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

runCli(process.argv.slice(2)).then(
  (code) => {
    // Exit now: a backend client may keep sockets or timers alive after close.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(`roster: unexpected failure: ${String((error as Error)?.stack ?? error)}\n`);
    process.exit(1);
  },
);
