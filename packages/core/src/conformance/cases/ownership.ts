import { describe, it } from 'vitest';
import { NodeNotRegisteredError } from '../../errors.js';
import { decodeRecord } from '../../record-codec.js';
import type { NodeInfo } from '../../types/node-info.js';
import { type SuiteContext, sleepUntil, waitFor, wellFormedProblem } from '../harness.js';

type Lost = { node: NodeInfo; reason: string };

/** Records what `onOwnNodeLost` reports, to hand to `scope.open()`. */
function lossLog(): { lost: Lost[]; onOwnNodeLost: (node: NodeInfo, reason: string) => void } {
  const lost: Lost[] = [];
  return { lost, onOwnNodeLost: (node, reason) => lost.push({ node, reason }) };
}

/** Rules 5 and 6: replaced, own node lost, re-registration, compare-and-set heartbeats. */
export function ownershipCases(suite: SuiteContext): void {
  describe.concurrent('ownership', () => {
    it('replaced: another instance registering an id is left replaced then joined, and the old owner gives up', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const { lost, onOwnNodeLost } = lossLog();
      const a = await scope.open({ onOwnNodeLost });
      const b = await scope.open();
      const w = await scope.open();
      const watch = scope.record(w);
      const first = await a.register({ id: 'rp-1', metadata: { owner: 'a' } });
      await watch.joined('rp-1');
      const second = await b.register({ id: 'rp-1', metadata: { owner: 'b' } });
      expect(second.instanceId).not.toBe(first.instanceId);
      await watch.next(
        'joined rp-1 (b)',
        (e) => e.type === 'joined' && e.node.instanceId === second.instanceId,
      );
      expect(watch.summary('rp-1')).toEqual(['joined:rp-1', 'left:rp-1:replaced', 'joined:rp-1']);
      await waitFor('onOwnNodeLost(replaced) at the old owner', () => lost.length > 0, suite.ttl * 3);
      expect(lost).toEqual([
        { node: expect.objectContaining({ instanceId: first.instanceId }), reason: 'replaced' },
      ]);
      await expect(a.heartbeat('rp-1')).rejects.toBeInstanceOf(NodeNotRegisteredError);
      // The old owner never writes over the newer registration.
      await sleepUntil(Date.now() + suite.ttl);
      const stored = await (await scope.raw()).get('rp-1');
      expect(stored && decodeRecord('rp-1', stored.value)).toMatchObject({
        ok: true,
        node: { instanceId: second.instanceId },
      });
      expect(watch.summary('rp-1')).toEqual(['joined:rp-1', 'left:rp-1:replaced', 'joined:rp-1']);
    });

    it('own node lost: removed by another instance → onOwnNodeLost(unregistered), registered again', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const { lost, onOwnNodeLost } = lossLog();
      const a = await scope.open({ onOwnNodeLost });
      const b = await scope.open();
      const watch = scope.record(b);
      const first = await a.register({ id: 'ol-1' });
      await watch.joined('ol-1');
      await b.unregister('ol-1');
      await waitFor('onOwnNodeLost', () => lost.length > 0, suite.ttl * 3);
      expect(lost[0]).toMatchObject({ reason: 'unregistered', node: { instanceId: first.instanceId } });
      const again = await watch.next(
        'joined ol-1 again',
        (e) => e.type === 'joined' && e.node.id === 'ol-1' && e.node.instanceId !== first.instanceId,
      );
      expect(watch.summary('ol-1')).toEqual(['joined:ol-1', 'left:ol-1:unregistered', 'joined:ol-1']);
      await waitFor(
        'the owner sees its new registration',
        () => a.get('ol-1')?.instanceId === again.event.node.instanceId,
      );
      await a.heartbeat('ol-1');
    });

    it('own node lost: expired → onOwnNodeLost(expired), registered again with a new instanceId', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const { lost, onOwnNodeLost } = lossLog();
      const a = await scope.open({
        autoHeartbeat: false,
        onOwnNodeLost,
      });
      const b = await scope.open();
      const watch = scope.record(b);
      const first = await a.register({ id: 'ol-2', load: 3 });
      const left = await watch.left('ol-2', suite.expiryWait);
      expect(left.event).toMatchObject({ reason: 'expired' });
      await a.heartbeat('ol-2');
      expect(lost).toEqual([
        { node: expect.objectContaining({ instanceId: first.instanceId }), reason: 'expired' },
      ]);
      const again = a.get('ol-2');
      expect(again?.instanceId).toBeDefined();
      expect(again?.instanceId).not.toBe(first.instanceId);
      expect(again?.load).toBe(3);
      await watch.next(
        'joined ol-2 again',
        (e) => e.type === 'joined' && e.node.instanceId === again?.instanceId,
      );
      expect(wellFormedProblem(watch.events)).toBeUndefined();
    });

    it('own node lost: with reregister false the node stays gone and heartbeat rejects', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const { lost, onOwnNodeLost } = lossLog();
      const a = await scope.open({
        reregister: false,
        onOwnNodeLost,
      });
      const b = await scope.open();
      await a.register({ id: 'ol-3' });
      await waitFor('ol-3 at b', () => b.get('ol-3'));
      await b.unregister('ol-3');
      await waitFor('onOwnNodeLost', () => lost.length > 0, suite.ttl * 3);
      expect(lost[0]?.reason).toBe('unregistered');
      await expect(a.heartbeat('ol-3')).rejects.toBeInstanceOf(NodeNotRegisteredError);
      expect(a.get('ol-3')).toBeUndefined();
      expect(await (await scope.raw()).get('ol-3')).toBeUndefined();
    });
  });
}
