import { DiscoveryError } from '@roster/core';
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from './cli-error.js';

/** What the user sees for an error: one line, a hint, an exit code. */
export interface ErrorReport {
  message: string;
  hint?: string;
  exitCode: number;
}

const CORE_HINTS: Record<string, { hint: string; exitCode: number }> = {
  ERR_BACKEND_UNAVAILABLE: {
    hint: 'is the server running and reachable? check --url',
    exitCode: EXIT_RUNTIME,
  },
  ERR_BACKEND_AUTH: {
    hint: 'the server refused the credentials: check the user and password (in the URL or --user/--password), the token or the client certificate',
    exitCode: EXIT_RUNTIME,
  },
  ERR_CONFIG_MISMATCH: {
    hint: 'the namespace exists with other settings: pass the --ttl its nodes use, or pick another --namespace',
    exitCode: EXIT_RUNTIME,
  },
  ERR_INVALID_NODE: {
    hint: 'ids are 1-128 of A-Z a-z 0-9 _ - = . (no dot first, last or doubled); load is a number >= 0',
    exitCode: EXIT_USAGE,
  },
  ERR_INVALID_OPTIONS: {
    hint: 'check --ttl (>= 1000 ms) and the namespace (A-Z a-z 0-9 _ -)',
    exitCode: EXIT_USAGE,
  },
  ERR_UNSUPPORTED: {
    hint: 'this backend does not offer it; see its README for its capabilities',
    exitCode: EXIT_RUNTIME,
  },
  ERR_CLOSED: { hint: 'the connection was closed while the command ran', exitCode: EXIT_RUNTIME },
};

/** Turns any thrown value into the one-line report the CLI prints. */
export function reportError(error: unknown): ErrorReport {
  if (error instanceof CliError)
    return { message: error.message, ...(error.hint ? { hint: error.hint } : {}), exitCode: error.exitCode };
  if (error instanceof DiscoveryError || isCoreError(error)) {
    const known = CORE_HINTS[(error as DiscoveryError).code];
    return {
      message: oneLine((error as Error).message),
      ...(known ? { hint: known.hint } : {}),
      exitCode: known?.exitCode ?? EXIT_RUNTIME,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: oneLine(message), hint: 'run with --verbose for details', exitCode: EXIT_RUNTIME };
}

// A backend package may bundle its own copy of core's classes; the stable `code` still identifies them.
function isCoreError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof Error && typeof code === 'string' && code in CORE_HINTS;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
