import { createDiscovery, type NodeDiscovery } from '@roster/core';
import type { BackendChange } from '@roster/core/spi';
import { startRedis } from '@roster/test-services';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { redisBackend } from '../src/index.js';
import { captureLogger, freshNamespace, open, Recorder, waitFor } from './helpers.js';

// Rule 2 of docs/guarantees.md, on a server of its own so that command counts are this file's only.
const server = await startRedis();
afterAll(() => server.stop());

function admin(): Redis {
  const client = new Redis(server.url);
  onTestFinished(async () => {
    await client.quit();
  });
  return client;
}

/** Total calls of every command since the server started (INFO commandstats; script-internal calls count too). */
async function commandCalls(client: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>();
  for (const line of (await client.info('commandstats')).split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls.set(match[1]!, Number(match[2]));
  }
  return calls;
}

/** Read events the server processed on all sockets (INFO stats): one per round trip, roughly. */
async function socketReads(client: Redis): Promise<number> {
  return Number(/total_reads_processed:(\d+)/.exec(await client.info('stats'))?.[1]);
}

function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const result = new Map<string, number>();
  for (const [name, count] of after) {
    const grown = count - (before.get(name) ?? 0);
    if (grown > 0) result.set(name, grown);
  }
  return result;
}

describe('redis: heartbeats without fan-out (rule 2)', () => {
  it('a plain heartbeat writes no stream entry and no revision, and no watcher hears of it', async () => {
    const namespace = freshNamespace('silent');
    const redis = admin();
    const owner = await open({ url: server.url, namespace }, { autoHeartbeat: false, ttl: 3_000 });
    const watcher = await open({ url: server.url, namespace }, { ttl: 3_000 });
    const watch = new Recorder(watcher);
    await owner.register({ id: 'quiet-1', metadata: { role: 'api' } });
    await waitFor('quiet-1 at the watcher', () => watcher.get('quiet-1'));
    // A raw reader of the feed too, below core: it must not be woken.
    const raw = redisBackend({ url: server.url, namespace });
    await raw.open({ ttl: 3_000, logger: captureLogger() });
    onTestFinished(() => raw.close());
    const { cursor } = await raw.list();
    const changes: BackendChange[] = [];
    const feed = raw.watch(cursor, (change) => changes.push(change));
    onTestFinished(() => feed.stop());
    // All three feeds (owner's, watcher's, the raw one) are blocked in XREAD before we count.
    await waitFor('three feeds blocked in XREAD', async () => {
      const clients = String(await redis.client('LIST')).split('\n');
      return (
        clients.filter((c) => c.includes(`name=roster:${namespace}:watch`) && c.includes('cmd=xread'))
          .length === 3
      );
    });
    const stream = `{roster:${namespace}}:changes`;
    const lengthBefore = await redis.xlen(stream);
    const seqBefore = await redis.get(`{roster:${namespace}}:seq`);
    const xreadBefore = (await commandCalls(redis)).get('xread') ?? 0;
    const seenBefore = watcher.get('quiet-1')!;
    for (let i = 0; i < 5; i++) await owner.heartbeat('quiet-1');
    // The owner knows its exact lastSeen (rule 2) …
    expect(owner.get('quiet-1')!.lastSeen).toBeGreaterThan(seenBefore.lastSeen);
    // … and nothing left the server: no entry, no revision, no blocked reader answered.
    expect(await redis.xlen(stream)).toBe(lengthBefore);
    expect(await redis.get(`{roster:${namespace}}:seq`)).toBe(seqBefore);
    expect((await commandCalls(redis)).get('xread') ?? 0).toBe(xreadBefore);
    // A real change still goes through, after the heartbeats, and is the first thing the feed sees.
    await owner.heartbeat('quiet-1', 0.5);
    await waitFor('the load change at the raw feed', () => changes.length > 0);
    expect(changes.map((c) => c.type)).toEqual(['put']);
    await waitFor('updated at the watcher', () => watcher.get('quiet-1')?.load === 0.5);
    expect(watch.summary('quiet-1')).toEqual(['joined:quiet-1', 'updated:quiet-1']);
    // The heartbeats kept the node alive past its ttl: the deadline moved, by the server clock.
    expect(await redis.xlen(stream)).toBe(lengthBefore + 1);
  });

  it('a heartbeat is one XCLAIM per node, and 2 000 heartbeats issued together share round trips (auto-pipelining)', async () => {
    const namespace = freshNamespace('batch');
    const redis = admin();
    const owner = await open({ url: server.url, namespace }, { autoHeartbeat: false, ttl: 10_000 });
    const ids = Array.from({ length: 2_000 }, (_, i) => `batch-${i}`);
    for (let i = 0; i < ids.length; i += 200)
      await Promise.all(ids.slice(i, i + 200).map((id) => owner.register({ id })));
    const before = await commandCalls(redis);
    const readsBefore = await socketReads(redis);
    await Promise.all(ids.map((id) => owner.heartbeat(id)));
    const reads = (await socketReads(redis)) - readsBefore;
    const used = delta(before, await commandCalls(redis));
    used.delete('info');
    // Sweeper and standby ticks and an idle feed's XREAD renewal may fall into the window.
    for (const name of ['set', 'xpending', 'xread']) used.delete(name);
    expect(Object.fromEntries(used)).toEqual({ xclaim: ids.length });
    // One read event per command without pipelining; batched, the server reads them in a few.
    expect(reads).toBeLessThan(ids.length / 10);
    // Compare-and-set still holds inside a pipeline: writes racing on one revision, one wins.
    const raw = redisBackend({ url: server.url, namespace });
    await raw.open({ ttl: 10_000, logger: captureLogger() });
    onTestFinished(() => raw.close());
    const current = (await raw.get('batch-0'))!;
    const racing = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        raw.put('batch-0', new TextEncoder().encode(`{"racer":${i}}`), {
          expectedRevision: current.revision,
        }),
      ),
    );
    expect(racing.filter((r) => r.ok)).toHaveLength(1);
    const refreshes = await Promise.all(
      Array.from({ length: 20 }, () =>
        raw.put('batch-1', new TextEncoder().encode('{}'), {
          expectedRevision: (racing.find((r) => r.ok) as { revision: number }).revision,
          refreshOnly: true,
        }),
      ),
    );
    // batch-1 is at another revision: a refresh naming batch-0's revision is a conflict, every time.
    expect(refreshes.every((r) => !r.ok)).toBe(true);
  }, 60_000);

  /**
   * Idle cost per node per second, measured as INFO commandstats calls (script-internal calls
   * included). Expected at ttl 3 s, per instance owning one node: heartbeats every ttl/3 = 1 s,
   * one XCLAIM each (1.0); an idle feed's XREAD BLOCK 10 s (0.1); an instance that is neither
   * sweeper nor standby checks the standby lease every ~8 s (0.125). Per namespace, whatever the
   * number of instances: the sweeper's SET + XPENDING every 300 ms (6.7/s) and the standby's SET
   * every 250 ms plus a renewal per second (5/s). 20 instances: 1.23 + 11.7 / 20 = 1.8; 50: 1.46.
   * The target is <= 2 per node per second and 50 instances within 1.2x of 20; a count
   * that grew with the instance count (the old fan-out: ~40 at 20, ~59 at 40) fails both.
   */
  it('an idle cluster costs at most 2 server commands per node per second at ttl 3 s, flat from 20 to 50 instances', async () => {
    const redis = admin();
    const measure = async (instances: number): Promise<number> => {
      const namespace = freshNamespace(`idle${instances}`);
      const discoveries: NodeDiscovery[] = [];
      for (let i = 0; i < instances; i++) {
        const discovery = await createDiscovery({
          backend: redisBackend({ url: server.url, namespace }),
          ttl: 3_000,
        });
        discoveries.push(discovery);
        await discovery.register({ id: `idle-${i}` });
      }
      try {
        await waitFor(`${instances} nodes everywhere`, () =>
          discoveries.every((d) => d.list().length === instances),
        );
        // Let the start-up (first lists, lease races) pass, then count over whole heartbeat periods.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        const before = await commandCalls(redis);
        const started = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 6_000));
        const used = delta(before, await commandCalls(redis));
        const seconds = (Date.now() - started) / 1000;
        used.delete('info');
        const total = [...used.values()].reduce((a, b) => a + b, 0);
        // Still idle: nobody expired, joined or left while we counted.
        expect(discoveries.every((d) => d.list().length === instances)).toBe(true);
        return total / instances / seconds;
      } finally {
        await Promise.all(discoveries.map((d) => d.close({ unregister: false })));
      }
    };
    const twenty = await measure(20);
    const fifty = await measure(50);
    console.info(
      `idle cost per node per second: 20 instances ${twenty.toFixed(2)}, 50 instances ${fifty.toFixed(2)}`,
    );
    expect(twenty).toBeLessThanOrEqual(2);
    expect(fifty).toBeLessThanOrEqual(2);
    expect(fifty / twenty).toBeLessThanOrEqual(1.2);
  }, 120_000);
});
