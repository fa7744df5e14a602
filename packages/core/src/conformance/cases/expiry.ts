import { describe, it } from 'vitest';
import { decodeRecord } from '../../record-codec.js';
import { type SuiteContext, sleepUntil, waitFor } from '../harness.js';

/** Rule 4: a silent node leaves `expired` within [ttl, ttl + grace]; a live one never does. */
export function expiryCases(suite: SuiteContext): void {
  const EARLY_SLACK = 5;

  describe.concurrent('expiry', () => {
    it('expiry: an owner that closes without unregistering expires within the bound', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const watcher = await scope.open();
      const owner = await scope.open({ autoHeartbeat: false });
      const watch = scope.record(watcher);
      await owner.register({ id: 'crash-1' });
      await watch.joined('crash-1');
      const before = Date.now();
      await owner.heartbeat('crash-1');
      const after = Date.now();
      await owner.close({ unregister: false });
      const left = await watch.left(
        'crash-1',
        suite.expiryWait,
        0,
        'the feed never reported the delete of crash-1 (its ttl ran out: the store must expire it)',
      );
      expect(left.event, 'an expiry is left with reason expired').toMatchObject({ reason: 'expired' });
      expect(left.at - before, 'left before the ttl ran out').toBeGreaterThanOrEqual(suite.ttl - EARLY_SLACK);
      expect(left.at - after, 'left later than ttl + max(1 s, ttl / 4)').toBeLessThanOrEqual(
        suite.ttl + suite.expiryGrace,
      );
      expect(watcher.get('crash-1')).toBeUndefined();
      expect(await (await scope.raw()).get('crash-1')).toBeUndefined();
    });

    it('expiry: a node whose owner stops calling heartbeat() expires, on the owner too', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const owner = await scope.open({ autoHeartbeat: false, reregister: false });
      const watcher = await scope.open();
      const watch = scope.record(watcher);
      const ownWatch = scope.record(owner);
      await owner.register({ id: 'quiet-1' });
      await owner.heartbeat('quiet-1');
      const after = Date.now();
      const left = await watch.left(
        'quiet-1',
        suite.expiryWait,
        0,
        'the feed never reported the delete of quiet-1 (no heartbeat since its put: the store must expire it)',
      );
      expect(left.event).toMatchObject({ reason: 'expired' });
      expect(left.at - after).toBeLessThanOrEqual(suite.ttl + suite.expiryGrace);
      const ownLeft = await ownWatch.left('quiet-1');
      expect(ownLeft.event).toMatchObject({ reason: 'expired' });
      expect(owner.get('quiet-1')).toBeUndefined();
    });

    it('expiry: a node that keeps heartbeating never expires (3 × ttl)', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const owner = await scope.open();
      const watcher = await scope.open();
      const watch = scope.record(watcher);
      const info = await owner.register({ id: 'alive-1' });
      await watch.joined('alive-1');
      await sleepUntil(Date.now() + 3 * suite.ttl);
      expect(watch.summary('alive-1')).toEqual(['joined:alive-1']);
      expect(watcher.get('alive-1')?.instanceId).toBe(info.instanceId);
      const stored = await (await scope.raw()).get('alive-1');
      expect(stored && decodeRecord('alive-1', stored.value)).toMatchObject({
        ok: true,
        node: { instanceId: info.instanceId },
      });
      // Heartbeats happened: the owner shows them; other instances too unless the store renews
      // liveness without a write (silentHeartbeats, rule 2).
      await waitFor('a fresh lastSeen at the owner', () => owner.get('alive-1')!.lastSeen > info.lastSeen);
      if (!suite.supports().silentHeartbeats)
        await waitFor(
          'a fresh lastSeen at the watcher (without silentHeartbeats a heartbeat is a write in the feed)',
          () => watcher.get('alive-1')!.lastSeen > info.lastSeen,
        );
    });
  });
}
