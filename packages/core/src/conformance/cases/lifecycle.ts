import { describe, it } from 'vitest';
import { DiscoveryClosedError } from '../../errors.js';
import { type SuiteContext, waitFor } from '../harness.js';

/** Rule 13: close. */
export function lifecycleCases(suite: SuiteContext): void {
  describe.concurrent('close', () => {
    it('close: unregisters owned nodes, ends watches, then every call rejects DiscoveryClosedError', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const b = await scope.open();
      const watchB = scope.record(b);
      const watchA = scope.record(a);
      await a.register({ id: 'bye-1' });
      await a.register({ id: 'bye-2' });
      await watchB.joined('bye-2');
      await a.close();
      await watchA.done;
      for (const id of ['bye-1', 'bye-2']) {
        const left = await watchB.left(id);
        expect(left.event).toMatchObject({ reason: 'unregistered' });
      }
      expect(() => a.get('bye-1')).toThrow(DiscoveryClosedError);
      expect(() => a.list()).toThrow(DiscoveryClosedError);
      await expect(a.register({ id: 'bye-3' })).rejects.toBeInstanceOf(DiscoveryClosedError);
      await expect(a.heartbeat('bye-1')).rejects.toBeInstanceOf(DiscoveryClosedError);
      await expect(a.unregister('bye-1')).rejects.toBeInstanceOf(DiscoveryClosedError);
      await expect(a.history('bye-1')).rejects.toBeInstanceOf(DiscoveryClosedError);
      await expect(a.watch()[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(DiscoveryClosedError);
      await expect(a.close()).resolves.toBeUndefined();
      expect((await (await scope.raw()).list()).entries).toEqual([]);
    });

    it('close: { unregister: false } keeps the records; await using closes', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const b = await scope.open();
      const watch = scope.record(b);
      {
        await using a = await scope.open();
        await a.register({ id: 'using-1' });
        await watch.joined('using-1');
      }
      const left = await watch.left('using-1');
      expect(left.event).toMatchObject({ reason: 'unregistered' });
      const c = await scope.open();
      await c.register({ id: 'kept-1' });
      await c.close({ unregister: false });
      await waitFor('kept-1 at b', () => b.get('kept-1'));
      expect(await (await scope.raw()).get('kept-1')).toBeDefined();
    });
  });

  describe('scale', () => {
    it('convergence: 1,000 nodes across two instances converge', async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.open();
      const b = await scope.open();
      const w = await scope.open();
      const watch = scope.record(w);
      const register = async (d: typeof a, prefix: string) => {
        for (let batch = 0; batch < 10; batch++) {
          await Promise.all(
            Array.from({ length: 50 }, (_, i) => d.register({ id: `${prefix}-${batch * 50 + i}`, load: i })),
          );
        }
      };
      await Promise.all([register(a, 'a'), register(b, 'b')]);
      await waitFor(
        '1,000 nodes everywhere',
        () =>
          a.list().length === 1000 && b.list().length === 1000 && w.list().length === 1000 ? true : undefined,
        30_000,
      );
      await waitFor('1,000 joined at the watcher', () => watch.events.length >= 1000);
      expect(
        new Set(watch.events.filter((e) => e.type === 'joined').map((e) => e.node.id)).size,
        watch.summary().slice(0, 5).join(),
      ).toBe(1000);
      expect(a.list().map((n) => n.instanceId)).toEqual(w.list().map((n) => n.instanceId));
      await a.close();
      await waitFor(
        '500 left',
        () => (w.list().length === 500 && b.list().length === 500 ? true : undefined),
        30_000,
      );
      expect(w.list().every((n) => n.id.startsWith('b-'))).toBe(true);
    }, 90_000);
  });
}
