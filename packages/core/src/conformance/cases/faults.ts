import { describe, it } from 'vitest';
import type { NodeDiscovery } from '../../types/node-discovery.js';
import { type SuiteContext, waitFor, wellFormedProblem } from '../harness.js';

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

/** Rule 8: continuity across a server restart and a pause beyond the TTL. Runs when faults are given. */
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
  });
}
