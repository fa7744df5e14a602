/** Exit codes of the `roster` command. */
export const EXIT_OK = 0;
/** Something went wrong at run time: server unreachable, node not found, backend refused. */
export const EXIT_RUNTIME = 1;
/** The command line itself is wrong: unknown command or option, bad value, bad URL. */
export const EXIT_USAGE = 2;
/** A second Ctrl-C while the command was still shutting down. */
export const EXIT_INTERRUPTED = 130;

/**
 * An error the CLI reports as one line (`roster: <message>`), optionally followed by a hint line,
 * then exits with `exitCode`.
 */
export class CliError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;
  constructor(message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_RUNTIME;
  }
}

/** A mistake on the command line: exit code 2, and the hint points at `--help`. */
export class UsageError extends CliError {
  constructor(message: string, hint = 'run `roster --help` for usage') {
    super(message, { hint, exitCode: EXIT_USAGE });
    this.name = 'UsageError';
  }
}
