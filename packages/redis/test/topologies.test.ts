import { createDiscovery, type NodeDiscovery } from '@roster/core';
import {
  type RedisClusterHandle,
  type RedisSentinelHandle,
  startRedisCluster,
  startRedisSentinel,
} from '@roster/test-services';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisBackend } from '../src/index.js';
import { freshNamespace, Recorder, view, waitFor } from './helpers.js';

const TTL = 1_000;
const EXPIRY_BOUND = TTL + Math.max(1_000, TTL / 4);
/** How long a member is frozen (SIGSTOP) in the frozen-member tests. */
const FREEZE_MS = 9_000;

async function discovery(backend: Parameters<typeof createDiscovery>[0]['backend']): Promise<NodeDiscovery> {
  const d = await createDiscovery({ backend, ttl: TTL });
  onTestFinished(() => d.close({ unregister: false }).catch(() => {}));
  return d;
}

describe('redis: on a Redis Cluster (an ioredis Cluster client)', () => {
  let cluster: RedisClusterHandle;
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: 1 });
  }, 90_000);
  afterAll(() => cluster?.stop());

  function client(): Cluster {
    const c = new Cluster(cluster.nodes.map((n) => ({ host: n.host, port: n.port })));
    onTestFinished(() => c.disconnect());
    return c;
  }

  it('register, silent heartbeats, expiry and unregister work, every key in the one slot of the namespace', async () => {
    const namespace = freshNamespace('cl');
    const mine = client();
    const a = await discovery(redisBackend({ client: mine, namespace }));
    const b = await discovery(redisBackend({ client: client(), namespace }));
    const owner = await createDiscovery({ backend: redisBackend({ client: client(), namespace }), ttl: TTL });
    const watch = new Recorder(b);
    await a.register({ id: 'cl-1', metadata: { role: 'api' } });
    await owner.register({ id: 'cl-2' });
    await waitFor('both nodes at b', () => b.list().length === 2);
    const lengthBefore = await mine.xlen(`{roster:${namespace}}:changes`);
    await a.heartbeat('cl-1');
    await a.heartbeat('cl-1');
    expect(await mine.xlen(`{roster:${namespace}}:changes`)).toBe(lengthBefore);
    await owner.close({ unregister: false });
    const closedAt = Date.now();
    const left = await waitFor('cl-2 left at b', () =>
      watch.find((e) => e.type === 'left' && e.node.id === 'cl-2'),
    );
    expect(left.event).toMatchObject({ reason: 'expired' });
    expect(left.at - closedAt).toBeLessThanOrEqual(EXPIRY_BOUND);
    await a.unregister('cl-1');
    await waitFor('cl-1 left at b', () => b.list().length === 0);
    expect(watch.summary()).toEqual([
      'joined:cl-1',
      'joined:cl-2',
      'left:cl-2:expired',
      'left:cl-1:unregistered',
    ]);
    // The namespace lives in one slot: every script and command stayed on one node.
    const keys = await Promise.all(mine.nodes('master').map((node) => node.keys(`{roster:${namespace}}:*`)));
    const holders = keys.filter((found) => found.length > 0);
    expect(holders).toHaveLength(1);
    expect(mine.status).toBe('ready');
  }, 60_000);

  it('a heartbeat stuck on a frozen master moves to the promoted replica well before the freeze ends', async () => {
    const namespace = freshNamespace('clf');
    const mine = client();
    // A request timeout longer than the freeze: only moving off the frozen master can settle the call.
    const d = await createDiscovery({
      backend: redisBackend({ client: mine, namespace, requestTimeout: FREEZE_MS + 5_000 }),
      ttl: 60_000,
      autoHeartbeat: false,
    });
    onTestFinished(() => d.close({ unregister: false }).catch(() => {}));
    await d.register({ id: 'clf-1' });
    const slot = Number(await mine.cluster('KEYSLOT', `{roster:${namespace}}`));
    const rows = (await mine.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
    const port = rows.find(([first, last]) => first <= slot && slot <= last)?.[2][1];
    const master = cluster.nodes.findIndex((n) => n.port === Number(port));
    expect(master).toBeGreaterThanOrEqual(0);
    const frozen = cluster.isolate(master, FREEZE_MS);
    onTestFinished(() => frozen);
    const started = Date.now();
    await d.heartbeat('clf-1');
    const took = Date.now() - started;
    // The replica is promoted ~2-3 s into the freeze (cluster-node-timeout 1 s); the frozen master
    // itself answers nothing before FREEZE_MS.
    expect(took).toBeLessThan(FREEZE_MS - 1_000);
    await frozen;
    await cluster.waitUntilHealthy();
  }, 60_000);
});

describe('redis: behind Sentinel (options sentinels + name)', () => {
  let sentinel: RedisSentinelHandle;
  beforeAll(async () => {
    sentinel = await startRedisSentinel({ replicas: 1 });
  }, 90_000);
  afterAll(() => sentinel?.stop());

  const options = (namespace: string) => ({
    sentinels: sentinel.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: sentinel.name,
    namespace,
  });

  it('finds the primary through the sentinels; after a failover views converge and owned nodes survive', async () => {
    const namespace = freshNamespace('sn');
    const a = await discovery(redisBackend(options(namespace)));
    const b = await discovery(redisBackend(options(namespace)));
    const watch = new Recorder(b);
    const first = await a.register({ id: 'sn-1' });
    await b.register({ id: 'sn-2' });
    await waitFor('both nodes at a and b', () => a.list().length === 2 && b.list().length === 2);
    await sentinel.failover();
    // Both instances found the new primary, kept (or registered again) what they own, and agree.
    await waitFor(
      'a and b agree on sn-1 and sn-2 after the failover',
      () =>
        view(a) === view(b) &&
        a
          .list()
          .map((n) => n.id)
          .join(',') === 'sn-1,sn-2',
      30_000,
    );
    await a.heartbeat('sn-1');
    await b.heartbeat('sn-2');
    expect(watch.summary('sn-1').at(-1)).toBe('joined:sn-1');
    expect(a.get('sn-1')?.id).toBe(first.id);
  }, 90_000);

  it('a heartbeat stuck on a frozen primary moves to the promoted replica well before the freeze ends', async () => {
    const namespace = freshNamespace('snf');
    const d = await createDiscovery({
      backend: redisBackend({ ...options(namespace), requestTimeout: FREEZE_MS + 5_000 }),
      ttl: 60_000,
      autoHeartbeat: false,
    });
    onTestFinished(() => d.close({ unregister: false }).catch(() => {}));
    await d.register({ id: 'snf-1' });
    const primary = await sentinel.primary();
    const frozen = sentinel.isolate(primary.index ?? 0, FREEZE_MS);
    onTestFinished(() => frozen);
    const started = Date.now();
    await d.heartbeat('snf-1');
    const took = Date.now() - started;
    // The sentinels promote the replica ~2.3 s into the freeze (down-after 1 s) and announce it
    // (+switch-master); the frozen primary itself answers nothing before FREEZE_MS.
    expect(took).toBeLessThan(FREEZE_MS - 1_000);
    await frozen;
    await sentinel.waitUntilHealthy();
  }, 60_000);
});
