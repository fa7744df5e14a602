// Slow: starting the topology waits for the sentinels to discover each other (hello messages
// every 2 s); failover waits for down-after-milliseconds (1 s) plus a sentinel election.
import { describe, expect, it } from 'vitest';
import { type RedisAddress, startRedisSentinel, waitFor } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, redis } from './support/raw-protocols.js';

useServerBinaries();

const urlOf = (a: RedisAddress) => `redis://${a.host}:${a.port}`;

/** What a Sentinel-aware client does: ask a sentinel for the primary, then talk to it. */
async function primaryUrl(sentinels: readonly RedisAddress[], name: string): Promise<string> {
  for (const sentinel of sentinels) {
    const [reply] = await redis(urlOf(sentinel), [['SENTINEL', 'get-master-addr-by-name', name]]).catch(
      () => [undefined],
    );
    if (Array.isArray(reply)) return `redis://${reply[0]}:${reply[1]}`;
  }
  throw new Error('no sentinel answered');
}

describe('startRedisSentinel (binary, slow)', () => {
  it('starts a primary, a replica and three sentinels; writes to the primary reach the replica', async () => {
    const topology = await startRedisSentinel();
    expect(topology).toMatchObject({ kind: 'redis', source: 'binary', name: 'roster', size: 2 });
    expect(topology.sentinels).toHaveLength(3);
    const primary = await topology.primary();
    expect(primary).toMatchObject({ index: 0, ...topology.nodes[0] });
    expect(await primaryUrl(topology.sentinels, 'roster')).toBe(urlOf(primary));

    expect(await redis(urlOf(primary), [['SET', 'k', 'v']])).toEqual(['OK']);
    const replica = urlOf(topology.nodes[1] as RedisAddress);
    await waitFor(async () => (await redis(replica, [['GET', 'k']]))[0] === 'v', {
      timeoutMs: 5_000,
      description: 'the write to reach the replica',
    });
    const [readOnly] = await redis(replica, [['SET', 'k', 'w']]);
    expect(String(readOnly)).toMatch(/READONLY/);
    await topology.stop();
    for (const url of [...topology.urls, ...topology.sentinels.map(urlOf)])
      expect(await isRefused(url)).toBe(true);
  });

  it('failover: the replica is promoted, writes work through the new primary, the old one follows it', async () => {
    const topology = await startRedisSentinel();
    const before = await primaryUrl(topology.sentinels, 'roster');
    // Replication is asynchronous: WAIT (on the writing connection) until the replica has the
    // write, or the failover may lose it.
    expect(
      await redis(
        before,
        [
          ['SET', 'before', '1'],
          ['WAIT', '1', '2000'],
        ],
        3_000,
      ),
    ).toEqual(['OK', 1]);

    const report = await topology.failover();
    console.info(`redis sentinel failover: ${JSON.stringify(report)}`);
    expect(report).toMatchObject({ killed: 0, elected: 1 });
    const after = await primaryUrl(topology.sentinels, 'roster');
    expect(after).toBe(urlOf(topology.nodes[1] as RedisAddress));
    expect(
      await redis(after, [
        ['SET', 'after', '2'],
        ['GET', 'before'],
      ]),
    ).toEqual(['OK', '1']);
    const oldPrimary = urlOf(topology.nodes[0] as RedisAddress);
    await waitFor(async () => (await redis(oldPrimary, [['GET', 'after']]))[0] === '2', {
      timeoutMs: 5_000,
      description: 'the old primary to replicate the new one',
    });
    const [role] = await redis(oldPrimary, [['ROLE']]);
    expect((role as string[])[0]).toBe('slave');
    await topology.stop();
  });

  it('isolate freezes one node for the given time, then it answers again', async () => {
    const topology = await startRedisSentinel();
    const replica = urlOf(topology.nodes[1] as RedisAddress);
    const isolated = topology.isolate(1, 800);
    await expect(redis(replica, [['PING']], 300)).rejects.toThrow(/timeout/);
    await isolated;
    expect(await redis(replica, [['PING']], 1_000)).toEqual(['PONG']);
    await topology.stop();
  });

  it('isolating the primary for longer than down-after-milliseconds makes the sentinels fail over; it thaws as a replica', async () => {
    // A sentinel election can fail (votes split) and is only tried again after twice the
    // failover timeout: at 1 s that retry still falls within the 4 s freeze.
    const topology = await startRedisSentinel({ downAfterMs: 500, failoverTimeoutMs: 1_000 });
    const isolated = topology.isolate(0, 4_000);
    await waitFor(async () => (await topology.primary().catch(() => undefined))?.index === 1, {
      timeoutMs: 15_000,
      description: 'the sentinels to promote node 1 while node 0 is frozen',
    });
    await isolated;
    await topology.waitUntilHealthy(20_000);
    const [role] = await redis(urlOf(topology.nodes[0] as RedisAddress), [['ROLE']]);
    expect((role as string[])[0]).toBe('slave');
    await topology.stop();
  });

  it('rejects bad options before starting anything', async () => {
    await expect(startRedisSentinel({ replicas: 0 })).rejects.toThrow(
      /replicas must be an integer >= 1; got 0/,
    );
    await expect(startRedisSentinel({ name: 'has space' })).rejects.toThrow(/name must match/);
  });
});
