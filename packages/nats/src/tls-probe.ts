import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { connect } from 'node:tls';
import type { NodeConnectionOptions } from '@nats-io/transport-node';

/** The `tls` option of `connect()` (files or PEM text, `rejectUnauthorized`, node:tls options). */
export type NatsTlsOptions = NonNullable<NodeConnectionOptions['tls']>;

/** What the TLS step of a probe found: the server accepted the session, or why not. */
export type TlsProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Upgrades a probe's socket (past the plain-text INFO) to TLS as nats.js would, sends one PING and
 * waits for any answer.
 *
 * Why: a server with `--tlsverify` refuses a client certificate (or its absence) only once the
 * handshake already looks done to the client; its alert arrives with the next read. nats.js has
 * by then dropped its TLS error listener, so its first connect waits out `timeout` and rejects
 * with a bare "timeout". On our own socket the alert reaches us and names the refusal. The host
 * name is not checked here (nats.js checks it on its own connection); the certificate chain is.
 */
export async function probeTls(socket: Socket, tls: NatsTlsOptions): Promise<TlsProbeResult> {
  let files: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  try {
    files = {
      ...(tls.caFile ? { ca: await readFile(tls.caFile) } : {}),
      ...(tls.certFile ? { cert: await readFile(tls.certFile) } : {}),
      ...(tls.keyFile ? { key: await readFile(tls.keyFile) } : {}),
    };
  } catch (error) {
    return { ok: false, reason: `cannot read a TLS file: ${(error as Error).message}` };
  }
  return new Promise((resolve) => {
    const secure = connect({
      rejectUnauthorized: true,
      ...tls,
      ...files,
      socket,
      checkServerIdentity: () => undefined,
    });
    secure.once('secureConnect', () => secure.write('PING\r\n'));
    // PONG, or an -ERR about the missing CONNECT: either way the server kept the TLS session.
    secure.once('data', () => resolve({ ok: true }));
    secure.once('error', (error: NodeJS.ErrnoException) => resolve({ ok: false, reason: tlsReason(error) }));
    secure.once('close', () =>
      resolve({ ok: false, reason: 'the server closed the connection during the TLS handshake' }),
    );
  });
}

/** OpenSSL's alert codes in words: `ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE` → `bad certificate`. */
function tlsReason(error: NodeJS.ErrnoException): string {
  const alert = /^ERR_SSL_(?:SSLV3|TLSV1\d?)_ALERT_(\w+)$/.exec(error.code ?? '');
  if (alert?.[1])
    return `TLS alert "${alert[1].toLowerCase().replaceAll('_', ' ')}" from the server: it did not accept the client certificate (or its absence)`;
  return `TLS handshake failed: ${error.message}`;
}
