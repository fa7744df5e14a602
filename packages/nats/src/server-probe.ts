import { connect } from 'node:net';

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
 */
export function probeServer(server: string, timeout: number): Promise<ProbeResult> {
  let target: { host: string; port: number };
  try {
    target = hostPort(server);
  } catch (error) {
    return Promise.resolve({ ok: false, reason: `not a server URL (${(error as Error).message})` });
  }
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
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
          reason: received
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
      else if (received.includes('\r\n')) finish({ ok: true });
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
