import { describe, it } from 'vitest';
import { encodeRecord } from '../../record-codec.js';
import type { BackendChange } from '../../spi/discovery-backend.js';
import type { NodeDiscovery } from '../../types/node-discovery.js';
import {
  type SuiteContext,
  settlesWithin,
  sleepUntil,
  WAIT_LIMIT,
  waitFor,
  wellFormedProblem,
} from '../harness.js';
import { clusterFaultCases } from './cluster-faults.js';
import { spiFaultCases } from './spi-faults.js';

/** Rule 14: "within the request timeout" — plus this for the event loop and the test's own bookkeeping. */
const SETTLE_SLACK = 1_000;
/** The pause is asked for, then takes effect (SIGSTOP) a moment later: calls start after this. */
const PAUSE_TAKES_EFFECT = 200;
/** A ttl no restart outlasts. */
const LONG_TTL = 60_000;

function record(id: string, load = 0): Uint8Array {
  const now = Date.now();
  return encodeRecord({ id, metadata: {}, load, instanceId: `i-${id}`, registeredAt: now, lastSeen: now });
}

function view(d: NodeDiscovery): string {
  return d
    .list()
    .map((n) => `${n.id}@${n.instanceId}`)
    .join(',');
}

/** True once every instance shows exactly `ids` (comma-separated, sorted), with the same instanceIds. */
function agreeOn(ids: string, instances: NodeDiscovery[]): () => boolean {
  return () => {
    const [first, ...rest] = instances;
    const shown = first!
      .list()
      .map((n) => n.id)
      .join(',');
    return shown === ids && rest.every((d) => view(d) === view(first!));
  };
}

/**
 * Rule 8: continuity across a server restart and a pause beyond the TTL. Runs when faults are given;
 * the failover and isolation cases of clustered servers (cluster-faults.ts) when those hooks are.
 */
export function faultCases(suite: SuiteContext): void {
  // Faults hit the whole server: these run one at a time, after the concurrent cases.
  describe.sequential('faults', () => {
    it('faults: after a server restart views converge, missed changes are emitted, owned nodes survive', async (context) => {
      const faults = suite.options.faults;
      if (!faults) return context.skip();
      const { expect } = context;
      const scope = suite.scope(context.onTestFinished);
      const a = await scope.open();
      const b = await scope.open();
      const c = await scope.open({ autoHeartbeat: false });
      const watch = scope.record(a);
      await a.register({ id: 'r-a' });
      await b.register({ id: 'r-b' });
      await c.register({ id: 'r-c' });
      await waitFor('3 nodes at a and b', () => a.list().length === 3 && b.list().length === 3);
      // r-c's owner goes silent: its record runs out while the server restarts.
      await c.close({ unregister: false });
      await faults.restart();
      const left = await watch.left('r-c', 30_000);
      expect(left.event).toMatchObject({ reason: 'expired' });
      await b.register({ id: 'r-b2' });
      await watch.joined('r-b2', 30_000);
      const fresh = await scope.open();
      await waitFor(
        'a, b and a fresh instance agree on r-a, r-b, r-b2',
        agreeOn('r-a,r-b,r-b2', [a, b, fresh]),
        30_000,
      );
      await a.heartbeat('r-a');
      await b.heartbeat('r-b');
      expect(wellFormedProblem(watch.events)).toBeUndefined();
    }, 90_000);

    it('faults: a pause beyond the ttl — owners register again and every view converges', async (context) => {
      const faults = suite.options.faults;
      if (!faults) return context.skip();
      const { expect } = context;
      const scope = suite.scope(context.onTestFinished);
      const a = await scope.open();
      const b = await scope.open();
      const watch = scope.record(b);
      await a.register({ id: 'p-a' });
      await b.register({ id: 'p-b' });
      await waitFor('2 nodes at a and b', () => a.list().length === 2 && b.list().length === 2);
      await faults.pause(suite.ttl * 2 + 500);
      const fresh = await scope.open();
      await waitFor(
        'a, b and a fresh instance agree on p-a and p-b',
        agreeOn('p-a,p-b', [fresh, a, b]),
        30_000,
      );
      // The owners still own what the views show: their heartbeats succeed.
      await a.heartbeat('p-a');
      await b.heartbeat('p-b');
      expect(wellFormedProblem(watch.events)).toBeUndefined();
      expect(watch.of('p-a').at(-1)?.type).not.toBe('left');
    }, 90_000);

    it('faults: an owner dead during a pause is left expired at every watcher within the bound after the server resumes', async (context) => {
      const faults = suite.options.faults;
      if (!faults) return context.skip();
      const { expect } = context;
      const scope = suite.scope(context.onTestFinished);
      const watchers = [scope.record(await scope.open()), scope.record(await scope.open())];
      const owner = await scope.open({ autoHeartbeat: false });
      await owner.register({ id: 'dp-1' });
      for (const watch of watchers) await watch.joined('dp-1');
      await owner.heartbeat('dp-1');
      await owner.close({ unregister: false });
      await faults.pause(suite.ttl * 2 + 500);
      const resumed = Date.now();
      for (const [index, watch] of watchers.entries()) {
        const left = await watch.left(
          'dp-1',
          suite.expiryWait,
          0,
          `watcher ${index + 1}: dp-1's ttl ran out during the pause but nothing reported it after the server resumed`,
        );
        expect(left.event, `watcher ${index + 1}`).toMatchObject({ reason: 'expired' });
        expect(
          left.at - resumed,
          `watcher ${index + 1}: left later than ttl + max(1 s, ttl / 4) after the server resumed`,
        ).toBeLessThanOrEqual(suite.ttl + suite.expiryGrace);
      }
    }, 90_000);

    it('faults: register, heartbeat, unregister and close during a frozen server settle within the request timeout', async (context) => {
      const faults = suite.options.faults;
      if (!faults) return context.skip();
      const { expect } = context;
      const scope = suite.scope(context.onTestFinished);
      const a = await scope.open({ autoHeartbeat: false });
      const b = await scope.open({ autoHeartbeat: false });
      const c = await scope.open({ autoHeartbeat: false });
      await a.register({ id: 'fz-1' });
      await a.register({ id: 'fz-2' });
      await c.register({ id: 'fz-3' });
      const limit = suite.requestTimeout + SETTLE_SLACK;
      // Frozen for longer than the limit: a call that waits for the server instead of timing out fails.
      const paused = faults.pause(limit + 1_500 + PAUSE_TAKES_EFFECT);
      scope.defer(() => paused);
      await sleepUntil(Date.now() + PAUSE_TAKES_EFFECT);
      const calls: [string, Promise<unknown>][] = [
        ['register()', a.register({ id: 'fz-4' })],
        ['heartbeat()', a.heartbeat('fz-1', 1)],
        ['unregister()', b.unregister('fz-2')],
        ['close()', c.close()],
      ];
      const took = await Promise.allSettled(
        calls.map(([what, call]) =>
          settlesWithin(
            call,
            limit,
            `rule 14: ${what} started while the server was frozen did not settle within the request timeout (${suite.requestTimeout} ms)`,
          ),
        ),
      );
      const failures = took.flatMap((r) =>
        r.status === 'rejected' ? [String((r.reason as Error).message)] : [],
      );
      expect(failures).toEqual([]);
      await paused;
      // close() finished: c is closed for good.
      expect(() => c.list()).toThrow();
    }, 90_000);

    it('faults: revisions keep growing across a server restart and a watcher sees every later change', async (context) => {
      const faults = suite.options.faults;
      if (!faults) return context.skip();
      const { expect } = context;
      // A ttl well past the restart: this case is about revisions, the records must outlive it.
      const scope = suite.scope(context.onTestFinished).sibling();
      const raw = await scope.raw({ ttl: LONG_TTL });
      const a = await scope.open({ ttl: LONG_TTL });
      const watch = scope.record(a);
      let before = 0;
      for (const id of ['rv-1', 'rv-2']) {
        const put = await raw.put(id, record(id));
        if (put.ok) before = Math.max(before, put.revision);
      }
      await watch.joined('rv-2');
      await faults.restart();
      // The server may still be coming back: the first write after the restart is retried.
      const after = await waitFor(
        'a put after the restart',
        async () => {
          const put = await raw.put('rv-3', record('rv-3')).catch(() => undefined);
          return put?.ok ? put.revision : undefined;
        },
        30_000,
      );
      expect(
        after,
        'a revision after the restart must be greater than every revision before it (a counter the server lost must not restart)',
      ).toBeGreaterThan(before);
      const snapshot = await raw.list();
      const changes: BackendChange[] = [];
      const feed = raw.watch(snapshot.cursor, (change) => changes.push(change));
      scope.defer(() => feed.stop());
      const more = [await raw.put('rv-4', record('rv-4')), await raw.put('rv-1', record('rv-1', 2))];
      expect(await raw.delete('rv-2')).toBe(true);
      for (const put of more)
        expect(put.ok && put.revision, 'a put after the restart').toBeGreaterThan(after);
      await waitFor('the feed from a cursor taken after the restart to report the delete of rv-2', () =>
        changes.some((c) => c.type === 'delete' && c.key === 'rv-2'),
      );
      expect(changes.map((c) => (c.type === 'resync' ? 'resync' : `${c.type}:${c.key}`))).toEqual([
        'put:rv-4',
        'put:rv-1',
        'delete:rv-2',
      ]);
      const revisions = changes.map((c) => (c.type === 'resync' ? 0 : c.revision));
      expect(revisions[0], 'the feed after the restart').toBeGreaterThan(after);
      expect(
        [...revisions].sort((x, y) => x - y),
        'revisions grow in the feed',
      ).toEqual(revisions);
      // And through core: every change after the restart reached the watcher.
      await watch.joined('rv-3', 30_000, 0, 'the watcher never saw rv-3, put after the restart');
      await watch.joined('rv-4', WAIT_LIMIT, 0, 'the watcher never saw rv-4, put after the restart');
      await watch.left('rv-2', WAIT_LIMIT, 0, 'the watcher never saw rv-2 deleted after the restart');
      await waitFor('rv-1 at load 2 at the watcher', () => a.get('rv-1')?.load === 2);
      expect(wellFormedProblem(watch.events)).toBeUndefined();
    }, 90_000);

    // Clustered servers: failover and isolation of one member (run when those hooks are given).
    clusterFaultCases(suite);
    // A frozen server seen from a raw backend (the error core gets, not only the time it takes).
    spiFaultCases(suite);
  });
}
