// Tiny hand-written clients for the three wire protocols, independent of the package under test
// (which has its own probes): the tests check the servers through these.
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { parseAll, type RespValue, respCommand } from '../../src/resp.js';

/** Client-side TLS for the raw clients: the CA to trust and, optionally, a client certificate. */
export interface RawTls {
  ca: string;
  cert?: string;
  key?: string;
}

interface Endpoint {
  host: string;
  port: number;
}

export function endpointOf(url: string): Endpoint {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}

/** Connect, write `send`, collect until `done(received)`; rejects on error, close or timeout. */
function converse(
  url: string,
  send: string | ((received: string) => string | undefined),
  done: (received: string) => boolean,
  timeoutMs: number,
  tls?: ConnectionOptions,
): Promise<string> {
  const { host, port } = endpointOf(url);
  return new Promise((resolve, reject) => {
    let received = '';
    let settled = false;
    const socket = tls ? tlsConnect({ ...tls, host, port }) : connect({ host, port });
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(received);
    };
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `timeout: no complete answer within ${timeoutMs} ms; received ${JSON.stringify(received)}`,
          ),
        ),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on(tls ? 'secureConnect' : 'connect', () => {
      if (typeof send === 'string') socket.write(send);
    });
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (typeof send === 'function') {
        const next = send(received);
        if (next) socket.write(next);
      }
      if (done(received)) finish();
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`connection closed; received ${JSON.stringify(received)}`)));
  });
}

/** Resolves true when a TCP connect to the URL's port is refused. */
export function isRefused(url: string): Promise<boolean> {
  const { host, port } = endpointOf(url);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

// ---- Redis (RESP2) --------------------------------------------------------------------------

export type { RespValue };

/**
 * Sends the commands pipelined on one connection and returns one reply per command. ASCII only.
 * With `tls`, speaks TLS from the first byte (a `rediss://` URL).
 */
export async function redis(
  url: string,
  commands: string[][],
  timeoutMs = 2_000,
  tls?: RawTls,
): Promise<RespValue[]> {
  const received = await converse(
    url,
    commands.map((command) => respCommand(...command)).join(''),
    (buffer) => parseAll(buffer).length >= commands.length,
    timeoutMs,
    tls,
  );
  return parseAll(received);
}

// ---- NATS -----------------------------------------------------------------------------------

export interface NatsInfo {
  server_id: string;
  port: number;
  jetstream?: boolean;
  auth_required?: boolean;
}

function natsConnect(credentials?: { user: string; pass: string }): string {
  return `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, ...credentials })}\r\n`;
}

/** Reads INFO, sends CONNECT + PING, expects PONG; returns the INFO. Rejects on -ERR. */
export async function natsPing(
  url: string,
  options: { timeoutMs?: number; user?: string; pass?: string } = {},
): Promise<NatsInfo> {
  const credentials =
    options.user !== undefined ? { user: options.user, pass: options.pass ?? '' } : undefined;
  let sent = false;
  const received = await converse(
    url,
    (buffer) => {
      if (sent || !buffer.includes('\r\n')) return undefined;
      sent = true;
      return `${natsConnect(credentials)}PING\r\n`;
    },
    (buffer) => buffer.includes('PONG\r\n') || buffer.includes('-ERR'),
    options.timeoutMs ?? 2_000,
  );
  const error = /-ERR (.*)\r\n/.exec(received);
  if (error) throw new Error(`NATS error: ${error[1]}`);
  const info = /^INFO\s+(\{.*\})\s*\r\n/.exec(received);
  if (!info?.[1]) throw new Error(`no INFO in ${JSON.stringify(received)}`);
  return JSON.parse(info[1]) as NatsInfo;
}

/** Request/reply over the core protocol: SUB an inbox, PUB with it as reply subject, wait for the MSG. */
export async function natsRequest(
  url: string,
  subject: string,
  payload: string,
  timeoutMs = 3_000,
  credentials?: { user: string; pass: string },
): Promise<string> {
  const inbox = `_INBOX.raw${Math.random().toString(36).slice(2)}`;
  let sent = false;
  const received = await converse(
    url,
    (buffer) => {
      if (sent || !buffer.includes('\r\n')) return undefined;
      sent = true;
      return (
        natsConnect(credentials) +
        `SUB ${inbox} 1\r\n` +
        `PUB ${subject} ${inbox} ${Buffer.byteLength(payload)}\r\n${payload}\r\n`
      );
    },
    (buffer) => {
      if (/-ERR .*\r\n/.test(buffer)) return true;
      const header = /MSG \S+ 1\s+(?:\S+\s+)?(\d+)\r\n/.exec(buffer);
      return header !== null && buffer.length >= header.index + header[0].length + Number(header[1]);
    },
    timeoutMs,
  );
  const error = /-ERR (.*)\r\n/.exec(received);
  if (error) throw new Error(`NATS error: ${error[1]}`);
  const header = /MSG \S+ 1\s+(?:\S+\s+)?(\d+)\r\n/.exec(received);
  if (!header) throw new Error(`no reply in ${JSON.stringify(received)}`);
  const start = header.index + header[0].length;
  return received.slice(start, start + Number(header[1]));
}

// ---- etcd (v3 JSON gateway) -----------------------------------------------------------------

const b64 = (text: string) => Buffer.from(text).toString('base64');

async function etcdPost(url: string, path: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const response = await fetch(new URL(path, url), {
    method: 'POST',
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

export async function etcdPut(url: string, key: string, value: string, timeoutMs = 3_000): Promise<void> {
  await etcdPost(url, '/v3/kv/put', { key: b64(key), value: b64(value) }, timeoutMs);
}

/** The value stored at `key`, or undefined. */
export async function etcdGet(url: string, key: string, timeoutMs = 3_000): Promise<string | undefined> {
  const result = (await etcdPost(url, '/v3/kv/range', { key: b64(key) }, timeoutMs)) as {
    kvs?: { value?: string }[];
  };
  const value = result.kvs?.[0]?.value;
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

export async function etcdHealth(url: string, timeoutMs = 2_000): Promise<string | undefined> {
  const response = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(timeoutMs) });
  return ((await response.json()) as { health?: string }).health;
}

// ---- TLS variants ---------------------------------------------------------------------------

/**
 * NATS over TLS as nats-server 2.9 does it: the INFO arrives in plain text, then the client starts
 * the TLS handshake on the same socket and sends CONNECT + PING. Resolves with the INFO once PONG
 * arrives; rejects with the TLS error (bad CA, missing client certificate) or a -ERR.
 */
export function natsPingTls(url: string, tls: RawTls, timeoutMs = 3_000): Promise<NatsInfo> {
  const { host, port } = endpointOf(url);
  return new Promise((resolve, reject) => {
    const plain = connect({ host, port });
    let secure: Socket | undefined;
    let info: NatsInfo | undefined;
    let received = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      plain.destroy();
      secure?.destroy();
      if (error || !info) reject(error ?? new Error('no INFO'));
      else resolve(info);
    };
    const timer = setTimeout(() => finish(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs);
    plain.setEncoding('utf8');
    plain.on('error', (error) => finish(error));
    plain.on('data', (chunk: string) => {
      if (secure) return;
      received += chunk;
      const line = /^INFO\s+(\{.*\})\s*\r\n/.exec(received);
      if (!line?.[1]) return;
      info = JSON.parse(line[1]) as NatsInfo;
      plain.removeAllListeners('data');
      const upgraded = tlsConnect({ ...tls, socket: plain, servername: 'localhost' });
      secure = upgraded;
      let answer = '';
      upgraded.setEncoding('utf8');
      upgraded.on('secureConnect', () => upgraded.write(`${natsConnect()}PING\r\n`));
      upgraded.on('error', (error) => finish(error));
      upgraded.on('data', (data: string) => {
        answer += data;
        const error = /-ERR (.*)\r\n/.exec(answer);
        if (error) finish(new Error(`NATS error: ${error[1]}`));
        else if (answer.includes('PONG\r\n')) finish();
      });
    });
  });
}

/** POST to the etcd JSON gateway over HTTPS with node:https (fetch cannot present a client certificate). */
export function etcdHttps(
  url: string,
  path: string,
  body: unknown,
  tls: RawTls,
  timeoutMs = 3_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      new URL(path, url),
      { method: 'POST', timeout: timeoutMs, ...tls },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          response.statusCode === 200
            ? resolve(JSON.parse(text))
            : reject(new Error(`etcd ${path}: HTTP ${response.statusCode} ${text}`)),
        );
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}
