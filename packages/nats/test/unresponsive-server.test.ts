// Which server a reconnect dials, and how often we ping (see unresponsive-server.ts): pure logic.
import type { Server, ServerInfo } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { leastRecentlyDialed, pingIntervalFor } from '../src/unresponsive-server.js';

function server(port: number, lastConnect: number): Server {
  return {
    hostname: '127.0.0.1',
    port,
    listen: `127.0.0.1:${port}`,
    src: `nats://127.0.0.1:${port}`,
    tlsName: '',
    reconnects: 0,
    lastConnect,
    gossiped: false,
    didConnect: lastConnect > 0,
  };
}

const info = { server_id: 'x' } as ServerInfo;

describe('leaving an unresponsive NATS server', () => {
  it('pings every ttl / 10, at least every second and at most every 2 minutes (nats.js default)', () => {
    expect(pingIntervalFor(30_000)).toBe(3_000);
    expect(pingIntervalFor(6_000)).toBe(1_000);
    expect(pingIntervalFor(500)).toBe(1_000);
    expect(pingIntervalFor(3_600_000)).toBe(120_000);
  });

  it('a reconnect dials the server dialed least recently, not the one it just lost', () => {
    const lost = server(4222, 1_000);
    const never = server(4223, 0);
    const older = server(4224, 500);
    expect(leastRecentlyDialed([lost, older, never], info)).toBe(never);
    expect(leastRecentlyDialed([lost, older], info)).toBe(older);
    // Ties keep the pool order; nats.js's own pick (index 0) is answered with null.
    expect(leastRecentlyDialed([never, server(4225, 0)], info)).toBeNull();
  });

  it("keeps nats.js's choice on the first connect and with a single server", () => {
    expect(leastRecentlyDialed([server(4222, 1_000), server(4223, 0)], null)).toBeNull();
    expect(leastRecentlyDialed([server(4222, 1_000)], info)).toBeNull();
  });
});
