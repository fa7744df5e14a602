import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bucketMaxAge } from '../src/bucket-layout.js';
import { hostPort, probeServer } from '../src/server-probe.js';

describe('hostPort', () => {
  it('reads the forms nats.js accepts', () => {
    expect(hostPort('nats://10.0.0.5:4333')).toEqual({ host: '10.0.0.5', port: 4333 });
    expect(hostPort('tls://nats.example.com')).toEqual({ host: 'nats.example.com', port: 4222 });
    expect(hostPort('127.0.0.1:4999')).toEqual({ host: '127.0.0.1', port: 4999 });
    expect(hostPort('nats://user:pw@[::1]:4223')).toEqual({ host: '::1', port: 4223 });
  });
});

describe('probeServer', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  });
  async function serve(onConnection: (socket: import('node:net').Socket) => void): Promise<string> {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      onConnection(socket);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    return `nats://127.0.0.1:${address.port}`;
  }

  it('a NATS greeting is ok', async () => {
    const url = await serve((s) => s.end('INFO {"server_id":"x"}\r\n'));
    expect(await probeServer(url, 1_000)).toEqual({ ok: true });
  });

  it('silence is refused at the timeout, with a reason naming it', async () => {
    const url = await serve((s) => setTimeout(() => s.destroy(), 2_000).unref());
    const started = Date.now();
    const result = await probeServer(url, 300);
    expect(result.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(!result.ok && result.reason).toMatch(/no NATS greeting within 300 ms/);
  });

  it('another protocol is refused at once', async () => {
    const url = await serve((s) => s.write('-ERR unknown command\r\n'));
    const result = await probeServer(url, 5_000);
    expect(!result.ok && result.reason).toMatch(/does not speak the NATS protocol/);
  });
});

describe('bucketMaxAge', () => {
  it('is a whole number of ms, never below the ttl', () => {
    for (const ttl of [1_000, 1_100, 10_000 / 3, 2_500.0001]) {
      const maxAge = bucketMaxAge(ttl);
      expect(Number.isInteger(maxAge)).toBe(true);
      expect(Number.isInteger(maxAge * 1_000_000)).toBe(true);
      expect(maxAge).toBeGreaterThanOrEqual(ttl);
      expect(maxAge - ttl).toBeLessThan(1);
    }
  });
});
