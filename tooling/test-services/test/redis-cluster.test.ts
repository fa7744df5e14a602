// Slow: six redis-server processes joined by redis-cli; failover waits for cluster-node-timeout
// (1 s) plus a replica election. The file takes ~15 s on an idle machine.
import { describe, expect, it } from 'vitest';
import { type RedisAddress, startRedisCluster } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, type RespValue, redis } from './support/raw-protocols.js';

useServerBinaries();

const urlOf = (a: RedisAddress) => `redis://${a.host}:${a.port}`;

/**
 * What a cluster client does: send to any node, follow a MOVED redirect to the slot's master.
 * `then` is pipelined after the command on the same connection (e.g. WAIT for that write).
 */
async function clusterCommand(
  nodes: readonly RedisAddress[],
  command: string[],
  then: string[][] = [],
): Promise<RespValue> {
  let url = urlOf(nodes[0] as RedisAddress);
  for (let hop = 0; hop < 3; hop++) {
    const [reply] = await redis(url, [command, ...then], 3_000);
    const moved = reply instanceof Error ? /^MOVED \d+ (\S+)$/.exec(reply.message) : null;
    if (!moved) return reply ?? null;
    url = `redis://${moved[1]}`;
  }
  throw new Error('too many redirects');
}

// Replication is asynchronous: a write the replica has not received yet is lost in a failover.
const WAIT_FOR_REPLICA = [['WAIT', '1', '2000']];

describe('startRedisCluster (binary, slow)', () => {
  it('starts three masters with a replica each; keys land on their slot owners', async () => {
    const cluster = await startRedisCluster({ masters: 3, replicas: 1 });
    expect(cluster).toMatchObject({ kind: 'redis', source: 'binary', size: 6 });
    const nodes = await cluster.topology();
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    for (const replica of nodes.filter((n) => n.role === 'replica')) {
      expect(nodes[replica.masterIndex as number]?.role).toBe('master');
    }
    const [info] = await redis(cluster.urls[0] as string, [['CLUSTER', 'INFO']]);
    expect(String(info)).toMatch(/cluster_state:ok[\s\S]*cluster_slots_assigned:16384/);
    for (const key of ['a', 'b', 'c', 'd'])
      expect(await clusterCommand(cluster.nodes, ['SET', key, key])).toBe('OK');
    for (const key of ['a', 'b', 'c', 'd'])
      expect(await clusterCommand(cluster.nodes, ['GET', key])).toBe(key);
    // slotMaster names the master that holds a key: it answers without a MOVED redirect, and the
    // keys spread over more than one master.
    const masters = new Set<number>();
    for (const key of ['a', 'b', 'c', 'd', '{roster:prod}:records']) {
      const index = await cluster.slotMaster(key);
      masters.add(index);
      expect(nodes[index]?.role).toBe('master');
      const [reply] = await redis(cluster.urls[index] as string, [['SET', key, 'here']]);
      expect(reply, `SET ${key} on the master slotMaster named`).toBe('OK');
    }
    expect(masters.size).toBeGreaterThan(1);
    await cluster.stop();
    for (const url of cluster.urls) expect(await isRefused(url)).toBe(true);
  });

  it('failover kills a master, its replica takes its slots, writes work, the old master rejoins as a replica', async () => {
    const cluster = await startRedisCluster();
    for (const key of ['a', 'b', 'c', 'd'])
      await clusterCommand(cluster.nodes, ['SET', key, key], WAIT_FOR_REPLICA);
    const report = await cluster.failover();
    console.info(`redis cluster failover: ${JSON.stringify(report)}`);
    const nodes = await cluster.topology();
    expect(nodes[report.elected]?.role).toBe('master');
    expect(nodes[report.killed]).toMatchObject({ role: 'replica', masterIndex: report.elected });
    for (const key of ['a', 'b', 'c', 'd']) {
      expect(await clusterCommand(cluster.nodes, ['GET', key])).toBe(key);
      expect(await clusterCommand(cluster.nodes, ['SET', key, `${key}2`])).toBe('OK');
    }
    await cluster.stop();
  });

  it('isolate freezes a node for the given time, then it answers and the cluster is healthy', async () => {
    const cluster = await startRedisCluster();
    const isolated = cluster.isolate(5, 500);
    await expect(redis(cluster.urls[5] as string, [['PING']], 300)).rejects.toThrow(/timeout/);
    await isolated;
    expect(await redis(cluster.urls[5] as string, [['PING']], 1_000)).toEqual(['PONG']);
    await cluster.waitUntilHealthy(10_000);
    await cluster.stop();
  });
});
