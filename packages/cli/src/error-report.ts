import {
  BackendAuthError,
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryClosedError,
  DiscoveryError,
  InvalidNodeError,
  InvalidOptionsError,
  UnsupportedCapabilityError,
} from '@roster/core';
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from './cli-error.js';

/** What the user sees for an error: one line, a hint, an exit code. */
export interface ErrorReport {
  message: string;
  hint?: string;
  exitCode: number;
}

interface KnownError {
  /** `isInstance`, not `instanceof`: a backend may load another copy of core (its CJS build). */
  readonly is: (error: unknown) => boolean;
  readonly hint: string;
  readonly exitCode: number;
}

// First match wins: a permission refused is told apart from a refused login when the backend could.
const KNOWN_ERRORS: readonly KnownError[] = [
  {
    is: (error) => BackendAuthError.isInstance(error) && error.failure === 'permission-denied',
    hint: 'the server refused the operation to this user: grant it the permissions the backend README lists',
    exitCode: EXIT_RUNTIME,
  },
  {
    is: (error) => BackendAuthError.isInstance(error),
    hint: 'the server refused the credentials: check the user and password (in the URL or --user/--password), the token or the client certificate',
    exitCode: EXIT_RUNTIME,
  },
  {
    is: (error) => BackendUnavailableError.isInstance(error),
    hint: 'is the server running and reachable? check --url',
    exitCode: EXIT_RUNTIME,
  },
  {
    is: (error) => ConfigMismatchError.isInstance(error),
    hint: 'the namespace exists with other settings: pass the --ttl its nodes use, or pick another --namespace',
    exitCode: EXIT_RUNTIME,
  },
  {
    is: (error) => InvalidNodeError.isInstance(error),
    hint: 'ids are 1-128 of A-Z a-z 0-9 _ - = . (no dot first, last or doubled); load is a number >= 0',
    exitCode: EXIT_USAGE,
  },
  {
    is: (error) => InvalidOptionsError.isInstance(error),
    hint: 'check --ttl (>= 1000 ms) and the namespace (A-Z a-z 0-9 _ -)',
    exitCode: EXIT_USAGE,
  },
  {
    is: (error) => UnsupportedCapabilityError.isInstance(error),
    hint: 'this backend does not offer it; see its README for its capabilities',
    exitCode: EXIT_RUNTIME,
  },
  {
    is: (error) => DiscoveryClosedError.isInstance(error),
    hint: 'the connection was closed while the command ran',
    exitCode: EXIT_RUNTIME,
  },
];

/**
 * A failed TLS handshake reaches us as "unavailable" (the clients report it like a refused
 * connection), yet asking whether the server runs sends the user the wrong way: it answered, and
 * the certificates did not match. Node's verification errors and OpenSSL's alerts, as the NATS,
 * Redis and etcd clients word them (etcd's arrive inside a gRPC status text). Not `tls://` in a
 * URL: a refused connection to a TLS URL is still a server that may be down.
 */
const TLS_FAILURE =
  /certificate|SSL routines|TLS (handshake|alert)|tlsv1\d? alert|handshake fail|wrong version number|ERR_SSL_|UNABLE_TO_VERIFY|SELF_SIGNED|CERT_/i;

const TLS_HINT =
  'the TLS handshake failed: check --tls-ca (the CA that signed the server certificate), --tls-cert/--tls-key (a client certificate the server trusts) and the URL scheme (tls://, rediss://, etcds://)';

/** Turns any thrown value into the one-line report the CLI prints. */
export function reportError(error: unknown): ErrorReport {
  if (error instanceof CliError)
    return { message: error.message, ...(error.hint ? { hint: error.hint } : {}), exitCode: error.exitCode };
  if (DiscoveryError.isInstance(error)) {
    const known = KNOWN_ERRORS.find((candidate) => candidate.is(error));
    const tls = BackendUnavailableError.isInstance(error) && isTlsFailure(error);
    const hint = tls ? TLS_HINT : known?.hint;
    return {
      message: oneLine(tidyOpenSsl(error.message)),
      ...(hint ? { hint } : {}),
      exitCode: known?.exitCode ?? EXIT_RUNTIME,
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message: oneLine(message), hint: 'run with --verbose for details', exitCode: EXIT_RUNTIME };
}

/** The error or one of its causes (a few levels down) names a TLS or certificate failure. */
function isTlsFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (TLS_FAILURE.test(e.message) || (typeof code === 'string' && TLS_FAILURE.test(code))) return true;
  }
  return false;
}

/**
 * OpenSSL's raw line (`802C…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate
 * required:../deps/openssl/…/rec_layer_s3.c:1601:SSL alert number 116`) down to what it says.
 */
function tidyOpenSsl(text: string): string {
  return text.replace(
    /[0-9A-F]+:error:[0-9A-F]+:SSL routines:[\w.]+:(?:(?:sslv3|tlsv1\d?) alert )?([^:]+):[^:\s]+:\d+:SSL alert number (\d+)/g,
    'TLS alert "$1" from the server (alert $2)',
  );
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
