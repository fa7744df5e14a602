import { connect } from 'node:net';

export interface TcpExchangeOptions {
  host: string;
  port: number;
  /** Written once connected; nothing is written when omitted. */
  send?: string;
  /** Called with everything received so far; the exchange ends when it returns true. */
  until: (received: string) => boolean;
  timeoutMs: number;
}

/**
 * One short conversation over a fresh TCP connection, for readiness probes: connect, write,
 * read until `until` is satisfied. Rejects on a refused connection, a close or the timeout.
 */
export function tcpExchange(options: TcpExchangeOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    let settled = false;
    const socket = connect({ host: options.host, port: options.port });
    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(received);
    };
    const timer = setTimeout(
      () =>
        finish(new Error(`no answer from ${options.host}:${options.port} within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.once('connect', () => {
      if (options.send !== undefined) socket.write(options.send);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (options.until(received)) finish(undefined);
    });
    socket.once('error', (error) => finish(error));
    socket.once('close', () => finish(new Error(`${options.host}:${options.port} closed the connection`)));
  });
}

/** GET `url` and hand back status and body; rejects on a network error or the timeout. */
export async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}
