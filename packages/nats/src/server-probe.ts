// Probes a NATS server's greeting before nats.js connects, so a port that never speaks NATS fails at once.
import { connect } from 'node:net';
import { type NatsTlsOptions, probeTls } from './tls-probe.js';

/** What a probe of one server URL found. */
export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const DEFAULT_PORT = 4222;

/** `host` and `port` of a server URL as `connect()` of nats.js reads it (`nats://h:p`, `tls://h`, `h:p`). */
export function hostPort(server: string): { host: string; port: number } {
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `nats://${server}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: url.port ? Number(url.port) : DEFAULT_PORT };
}

/**
 * Opens a TCP connection and waits for the `INFO {...}` line every NATS server sends first.
 *
 * Why: when nats.js's first connect times out before the server greeted (a port that is not NATS,
 * a frozen server), it rejects but never closes its socket, which then keeps the process alive
 * for a minute and more (nats.js 3.4, `NodeTransport._closed` skips a transport that never
 * connected). A probe we own is always destroyed, so `open()` can refuse such a server and leave
 * nothing behind.
 *
 * With `tls` given and a server that requires TLS, the probe also makes the TLS handshake and
 * waits for the server to accept it (see `probeTls`), so a refused client certificate is named
 * rather than waited out.
 */
export function probeServer(server: string, timeout: number, tls?: NatsTlsOptions): Promise<ProbeResult> {
  let target: { host: string; port: number };
  try {
    target = hostPort(server);
  } catch (error) {
    return Promise.resolve({ ok: false, reason: `not a server URL (${(error as Error).message})` });
  }
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    let upgrading = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          reason: upgrading
            ? `no answer to the TLS handshake within ${timeout} ms`
            : received
              ? 'the server does not speak the NATS protocol'
              : `no NATS greeting within ${timeout} ms (not a NATS port, or the server is frozen)`,
        }),
      timeout,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.length >= 5 && !received.startsWith('INFO '))
        finish({ ok: false, reason: 'the server does not speak the NATS protocol' });
      else if (received.includes('\r\n')) {
        if (!tls || !requiresTls(received)) return finish({ ok: true });
        // From here the TLS socket owns the connection and reports its end.
        upgrading = true;
        socket.removeAllListeners('data');
        socket.removeAllListeners('close');
        socket.removeAllListeners('error');
        socket.on('error', () => {});
        void probeTls(socket, tls).then(finish);
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        reason: error.code === 'ECONNREFUSED' ? 'connection refused' : error.message,
      }),
    );
    socket.on('close', () => finish({ ok: false, reason: 'the server closed the connection' }));
  });
}

/** The greeting's INFO says `tls_required: true` (nats-server sends it in plain text first). */
function requiresTls(greeting: string): boolean {
  const match = /^INFO\s+(\{.*\})\s*\r\n/.exec(greeting);
  try {
    return (
      match?.[1] !== undefined && (JSON.parse(match[1]) as { tls_required?: unknown }).tls_required === true
    );
  } catch {
    return false;
  }
}
