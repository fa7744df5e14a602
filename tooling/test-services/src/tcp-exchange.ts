import { request as httpRequestRaw } from 'node:http';
import { request as httpsRequestRaw } from 'node:https';
import { connect } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';

export interface TcpExchangeOptions {
  host: string;
  port: number;
  /** Written once connected; nothing is written when omitted. */
  send?: string;
  /** Called with everything received so far; the exchange ends when it returns true. */
  until: (received: string) => boolean;
  timeoutMs: number;
  /** Speak TLS from the first byte (Redis `--tls-port`), with these options (CA, client cert). */
  tls?: ConnectionOptions;
}

/**
 * One short conversation over a fresh TCP connection, for readiness probes: connect, write,
 * read until `until` is satisfied. Rejects on a refused connection, a close or the timeout.
 */
export function tcpExchange(options: TcpExchangeOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    let settled = false;
    const socket = options.tls
      ? tlsConnect({ ...options.tls, host: options.host, port: options.port })
      : connect({ host: options.host, port: options.port });
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
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
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

/** TLS material for an HTTPS probe: PEM strings (CA to trust, client certificate and key). */
export interface HttpsClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

/**
 * An HTTP(S) request with node:http(s) rather than fetch, because fetch cannot present a client
 * certificate without undici's dispatcher (etcd with --client-cert-auth requires one).
 */
export function httpRequest(
  url: string,
  options: { method?: string; body?: string; timeoutMs: number; tls?: HttpsClientTls },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequestRaw : httpRequestRaw;
    const request = send(
      target,
      {
        method: options.method ?? 'GET',
        timeout: options.timeoutMs,
        ...(options.tls ?? {}),
        headers: options.body !== undefined ? { 'content-type': 'application/json' } : {},
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer from ${url} within ${options.timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.end(options.body);
  });
}
