import type { ConnectionOptions } from 'node:tls';
import { tcpExchange } from './tcp-exchange.js';

/** A decoded RESP2 reply; server errors come back as Error values, not rejections. */
export type RespValue = string | number | null | Error | RespValue[];

/** RESP array of bulk strings: safe for any argument, unlike the inline protocol. */
export function respCommand(...parts: string[]): string {
  return `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
}

/** One RESP value at `offset`; undefined while the buffer is incomplete. */
function parseResp(buffer: string, offset: number): { value: RespValue; next: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const line = buffer.slice(offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (buffer[offset]) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new Error(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, next: after };
      if (Buffer.byteLength(buffer.slice(after)) < length + 2) return undefined;
      return { value: buffer.slice(after, after + length), next: after + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buffer, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP reply: ${JSON.stringify(buffer.slice(offset, offset + 40))}`);
  }
}

/** Every complete RESP value in `buffer`, in order (an incomplete tail is left out). */
export function parseAll(buffer: string): RespValue[] {
  const values: RespValue[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const parsed = parseResp(buffer, offset);
    if (!parsed) break;
    values.push(parsed.value);
    offset = parsed.next;
  }
  return values;
}

export interface RedisAddress {
  host: string;
  port: number;
}

/**
 * Sends the commands pipelined on a fresh connection and returns one reply per command; for the
 * topology probes (roles, sentinel answers), which must not depend on a client library.
 */
export async function redisCommands(
  address: RedisAddress,
  commands: string[][],
  options: { timeoutMs?: number; tls?: ConnectionOptions } = {},
): Promise<RespValue[]> {
  const received = await tcpExchange({
    host: address.host,
    port: address.port,
    send: commands.map((command) => respCommand(...command)).join(''),
    until: (buffer) => parseAll(buffer).length >= commands.length,
    timeoutMs: options.timeoutMs ?? 1_000,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  return parseAll(received);
}

/** One command; a server error (`-ERR …`) rejects. */
export async function redisCommand(
  address: RedisAddress,
  command: string[],
  options: { timeoutMs?: number; tls?: ConnectionOptions } = {},
): Promise<RespValue> {
  const [reply] = await redisCommands(address, [command], options);
  if (reply instanceof Error)
    throw new Error(`${command[0]} on ${address.host}:${address.port}: ${reply.message}`);
  return reply ?? null;
}

/** `INFO <section>` as a map of its `field:value` lines. */
export async function redisInfo(
  address: RedisAddress,
  section: string,
  options: { timeoutMs?: number; tls?: ConnectionOptions } = {},
): Promise<Map<string, string>> {
  const text = String(await redisCommand(address, ['INFO', section], options));
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}
