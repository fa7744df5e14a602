// Slow: each case starts a three-member etcd cluster (~1-2 s); failover waits for an election
// (about one election timeout, 1 s). The file takes ~10 s on an idle machine.
import { describe, expect, it } from 'vitest';
import { startEtcdCluster, waitFor } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { etcdGet, etcdHealth, etcdPut, isRefused } from './support/raw-protocols.js';

useServerBinaries();

/** A put through `url`, retried while the member has no leader (right after a failover). */
async function putEventually(url: string, key: string, value: string): Promise<void> {
  await waitFor(
    () =>
      etcdPut(url, key, value, 2_000).then(
        () => true,
        () => false,
      ),
    {
      timeoutMs: 15_000,
      description: `a put of ${key} through ${url}`,
    },
  );
}

describe('startEtcdCluster (binary, slow)', () => {
  it('starts three members that replicate: written through one, read through the others', async () => {
    const cluster = await startEtcdCluster({ size: 3 });
    expect(cluster).toMatchObject({ kind: 'etcd', source: 'binary', size: 3 });
    expect(cluster.url).toBe(cluster.urls.join(','));
    expect(await cluster.leader()).toBeTypeOf('number');
    await etcdPut(cluster.urls[0] as string, 'roster/a', 'one');
    for (const url of cluster.urls) expect(await etcdGet(url, 'roster/a')).toBe('one');
    await cluster.stop();
    for (const url of cluster.urls) expect(await isRefused(url)).toBe(true);
  });

  it('failover kills the leader, another member is elected, writes work, the old one rejoins with the data', async () => {
    const cluster = await startEtcdCluster({ size: 3 });
    await etcdPut(cluster.urls[0] as string, 'roster/before', '1');
    const leaderBefore = await cluster.leader();
    const report = await cluster.failover();
    console.info(`etcd cluster failover: ${JSON.stringify(report)}`);
    expect(report.killed).toBe(leaderBefore);
    expect(report.elected).not.toBe(report.killed);
    expect(await cluster.leader()).not.toBeUndefined();

    await putEventually(cluster.urls[report.elected] as string, 'roster/after', '2');
    const rejoined = cluster.urls[report.killed] as string;
    expect(await etcdHealth(rejoined)).toBe('true');
    // A linearizable read on the rejoined member goes through the leader: it sees both writes.
    expect(await etcdGet(rejoined, 'roster/before')).toBe('1');
    expect(await etcdGet(rejoined, 'roster/after')).toBe('2');
    await cluster.stop();
  });

  it('isolate freezes one member while the other two keep a quorum and serve writes', async () => {
    const cluster = await startEtcdCluster({ size: 3 });
    const follower = ((await cluster.leader()) === 0 ? 1 : 0) as number;
    const other = [0, 1, 2].find((i) => i !== follower) as number;
    const isolated = cluster.isolate(follower, 1_500);
    await expect(etcdHealth(cluster.urls[follower] as string, 300)).rejects.toThrow();
    await putEventually(cluster.urls[other] as string, 'roster/during', 'x');
    await isolated;
    await cluster.waitUntilHealthy(10_000);
    expect(await etcdGet(cluster.urls[follower] as string, 'roster/during')).toBe('x');
    await cluster.stop();
  });

  it('kill + restart of the whole cluster brings every member back with the data', async () => {
    const cluster = await startEtcdCluster({ size: 3 });
    await etcdPut(cluster.urls[1] as string, 'roster/kept', 'yes');
    await cluster.kill();
    for (const url of cluster.urls) expect(await isRefused(url)).toBe(true);
    await cluster.restart();
    for (const url of cluster.urls) expect(await etcdGet(url, 'roster/kept')).toBe('yes');
    await cluster.stop();
  });

  it('rejects a bad size or member index', async () => {
    await expect(startEtcdCluster({ size: 0 })).rejects.toThrow(/size must be an integer >= 1; got 0/);
    const cluster = await startEtcdCluster({ size: 1 });
    expect(() => cluster.member(1)).toThrow(/member index must be an integer from 0 to 0; got 1/);
    expect(await cluster.leader()).toBe(0);
    await expect(cluster.failover()).rejects.toThrow(/failover needs at least 3 etcd members \(has 1\)/);
    expect(await etcdHealth(cluster.url)).toBe('true'); // nothing was killed
    await cluster.stop();
  });
});
