import { silentLogger } from '@roster/core';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemberProbe } from '../src/member-probe.js';
import { RequestClock } from '../src/request-clock.js';

/** A master as the probe sees it: answers PING or not, records being dropped. */
function fakeMaster(port: number, answers: boolean) {
  const node = {
    options: { host: '127.0.0.1', port },
    dropped: 0,
    destroyed: 0,
    ping: () => (answers ? Promise.resolve('PONG') : new Promise<string>(() => {})),
    disconnect: () => {
      node.dropped++;
    },
    stream: {
      destroy: () => {
        node.destroyed++;
      },
    },
  };
  return node;
}

function fakeCluster(masters: ReturnType<typeof fakeMaster>[]) {
  const cluster = {
    refreshed: 0,
    nodes: () => masters as unknown as Redis[],
    refreshSlotsCache: () => {
      cluster.refreshed++;
    },
  };
  return cluster;
}

const SILENT_AFTER = 1_000;
const PING_TIMEOUT = 1_000;

describe('member probe (leaving a frozen Cluster master)', () => {
  let probe: MemberProbe | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    probe?.stop();
    vi.useRealTimers();
  });

  function start(cluster: ReturnType<typeof fakeCluster>, clock: RequestClock) {
    probe = new MemberProbe(cluster as unknown as Cluster, clock, {
      silentAfterMs: SILENT_AFTER,
      pingTimeoutMs: PING_TIMEOUT,
      logger: silentLogger,
    });
  }

  it('drops only the master that answers no PING, once a call has waited silentAfterMs, and refreshes the slots', async () => {
    const frozen = fakeMaster(7001, false);
    const alive = fakeMaster(7002, true);
    const cluster = fakeCluster([frozen, alive]);
    const clock = new RequestClock(5_000);
    start(cluster, clock);
    clock.run(() => new Promise<never>(() => {}), 'a heartbeat').catch(() => {});
    await vi.advanceTimersByTimeAsync(SILENT_AFTER - 100);
    expect(frozen.dropped).toBe(0);
    await vi.advanceTimersByTimeAsync(500 + PING_TIMEOUT);
    expect(frozen.dropped).toBe(1);
    expect(frozen.destroyed).toBe(1);
    expect(alive.dropped).toBe(0);
    expect(cluster.refreshed).toBe(1);
  });

  it('does nothing while every call is answered, and nothing when every master answers', async () => {
    const a = fakeMaster(7001, true);
    const b = fakeMaster(7002, true);
    const cluster = fakeCluster([a, b]);
    const clock = new RequestClock(5_000);
    start(cluster, clock);
    await clock.run(() => Promise.resolve('ok'), 'a read');
    await vi.advanceTimersByTimeAsync(5 * SILENT_AFTER);
    expect(cluster.refreshed).toBe(0);
    // A slow call with every master answering its PING: a busy server is not a frozen one.
    clock.run(() => new Promise<never>(() => {}), 'a slow script').catch(() => {});
    await vi.advanceTimersByTimeAsync(3 * SILENT_AFTER);
    expect(a.dropped + b.dropped).toBe(0);
    expect(cluster.refreshed).toBe(0);
  });

  it('stops probing after stop()', async () => {
    const frozen = fakeMaster(7001, false);
    const cluster = fakeCluster([frozen]);
    const clock = new RequestClock(5_000);
    start(cluster, clock);
    probe!.stop();
    clock.run(() => new Promise<never>(() => {}), 'a heartbeat').catch(() => {});
    await vi.advanceTimersByTimeAsync(5 * SILENT_AFTER);
    expect(frozen.dropped).toBe(0);
  });
});
