import { describe, it } from 'vitest';
import { UnsupportedCapabilityError } from '../../errors.js';
import { type SuiteContext, waitFor } from '../harness.js';

/** Rules 11 and 12: namespaces; persistence and history where the backend declares them. */
export function capabilityCases(suite: SuiteContext): void {
  describe.concurrent('namespaces and capabilities', () => {
    it('namespaces: two namespaces on one server never see each other', async ({
      expect,
      onTestFinished,
    }) => {
      const one = suite.scope(onTestFinished);
      const two = one.sibling();
      const a = await one.open();
      const b = await two.open();
      const watchA = one.record(a);
      const watchB = two.record(b);
      await a.register({ id: 'ns-a' });
      await b.register({ id: 'ns-b' });
      await watchA.joined('ns-a');
      await watchB.joined('ns-b');
      // Sentinels: once each arrives, anything leaking from the other namespace would have too.
      await a.register({ id: 'ns-a-sentinel' });
      await b.register({ id: 'ns-b-sentinel' });
      await watchA.joined('ns-a-sentinel');
      await watchB.joined('ns-b-sentinel');
      expect(watchA.summary()).toEqual(['joined:ns-a', 'joined:ns-a-sentinel']);
      expect(watchB.summary()).toEqual(['joined:ns-b', 'joined:ns-b-sentinel']);
      expect(a.list().map((n) => n.id)).toEqual(['ns-a', 'ns-a-sentinel']);
      const rawTwo = await two.raw();
      expect((await rawTwo.list()).entries.map((e) => e.key).sort()).toEqual(['ns-b', 'ns-b-sentinel']);
      expect(await rawTwo.get('ns-a')).toBeUndefined();
    });

    it('persistence: a new instance lists nodes registered earlier by another, until they expire', async (context) => {
      if (!suite.supports().persistent) context.skip();
      const scope = suite.scope(context.onTestFinished);
      const a = await scope.open({ autoHeartbeat: false });
      const info = await a.register({ id: 'keep-1', metadata: { v: '1' } });
      await a.close({ unregister: false });
      const b = await scope.open();
      context.expect(b.get('keep-1')).toEqual(info);
      const watch = scope.record(b);
      const left = await watch.left('keep-1', suite.ttl * 3 + 5_000);
      context.expect(left.event).toMatchObject({ reason: 'expired' });
    });

    it('history: the current state first, then earlier ones; plain heartbeats are not entries', async (context) => {
      if (!suite.supports().history) context.skip();
      const { expect } = context;
      const scope = suite.scope(context.onTestFinished);
      const a = await scope.open({ autoHeartbeat: false });
      const first = await a.register({ id: 'hist-1', load: 0 });
      await a.heartbeat('hist-1');
      await a.heartbeat('hist-1');
      await a.heartbeat('hist-1', 1);
      await a.heartbeat('hist-1');
      await a.register({ id: 'hist-1', load: 1, metadata: { v: '2' } });
      await a.heartbeat('hist-1');
      const history = await a.history('hist-1');
      expect(history.map((n) => [n.load, n.metadata.v ?? '-'])).toEqual([
        [1, '2'],
        [1, '-'],
        [0, '-'],
      ]);
      expect(history.every((n) => n.instanceId === first.instanceId)).toBe(true);
      expect(history[0]).toEqual(a.get('hist-1'));
      expect(await a.history('hist-1', 2)).toHaveLength(2);
      const b = await scope.open();
      await waitFor('hist-1 at b', () => b.get('hist-1'));
      expect((await b.history('hist-1')).map((n) => n.load)).toEqual([1, 1, 0]);
    });

    it('history: without the capability, history() rejects UnsupportedCapabilityError', async (context) => {
      if (suite.supports().history) context.skip();
      const scope = suite.scope(context.onTestFinished);
      const a = await scope.open();
      await a.register({ id: 'nohist-1' });
      await context.expect(a.history('nohist-1')).rejects.toBeInstanceOf(UnsupportedCapabilityError);
    });
  });
}
