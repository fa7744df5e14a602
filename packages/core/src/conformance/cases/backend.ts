import { describe, it } from 'vitest';
import { encodeRecord } from '../../record-codec.js';
import type { BackendChange } from '../../spi/discovery-backend.js';
import type { NodeInfo } from '../../types/node-info.js';
import { type SuiteContext, waitFor } from '../harness.js';

function record(id: string, load = 0): Uint8Array {
  const now = Date.now();
  const node: NodeInfo = { id, metadata: {}, load, instanceId: `i-${id}`, registeredAt: now, lastSeen: now };
  return encodeRecord(node);
}

/** The SPI itself, checked on raw backends: what core's guarantees are built on. */
export function backendCases(suite: SuiteContext): void {
  describe.concurrent('backend SPI', () => {
    it('backend: put and delete are compare-and-set when asked', async ({ expect, onTestFinished }) => {
      const raw = await suite.scope(onTestFinished).raw();
      const first = await raw.put('cas-1', record('cas-1', 1));
      expect(first.ok).toBe(true);
      const r1 = first.ok ? first.revision : -1;
      const second = await raw.put('cas-1', record('cas-1', 2), { expectedRevision: r1 });
      expect(second.ok).toBe(true);
      const r2 = second.ok ? second.revision : -1;
      expect(r2).toBeGreaterThan(r1);
      expect(await raw.put('cas-1', record('cas-1', 3), { expectedRevision: r1 })).toEqual({ ok: false });
      expect(await raw.put('cas-1', record('cas-1', 4), { expectedRevision: null })).toEqual({ ok: false });
      expect((await raw.get('cas-1'))?.revision).toBe(r2);
      expect(await raw.delete('cas-1', { expectedRevision: r1 })).toBe(false);
      expect(await raw.get('cas-1')).toBeDefined();
      expect((await raw.put('cas-2', record('cas-2'), { expectedRevision: null })).ok).toBe(true);
      expect(await raw.delete('cas-1', { expectedRevision: r2 })).toBe(true);
      expect(await raw.get('cas-1')).toBeUndefined();
      expect(await raw.put('cas-1', record('cas-1', 5), { expectedRevision: r2 })).toEqual({ ok: false });
    });

    it('backend: the feed delivers every change after the cursor, in order, with growing revisions', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw();
      const reader = await scope.raw();
      await writer.put('feed-0', record('feed-0'));
      const snapshot = await reader.list();
      expect(snapshot.entries.map((e) => e.key)).toEqual(['feed-0']);
      const changes: BackendChange[] = [];
      const watch = reader.watch(snapshot.cursor, (change) => changes.push(change));
      onTestFinished(() => watch.stop());
      for (let load = 1; load <= 5; load++) await writer.put('feed-1', record('feed-1', load));
      await writer.delete('feed-0');
      await writer.put('feed-2', record('feed-2'));
      await waitFor(
        'the feed to deliver the 7 changes made after the cursor (5 puts of feed-1, the delete of feed-0, the put of feed-2)',
        () => changes.length >= 7,
      );
      const summary = changes.map((c) => (c.type === 'resync' ? 'resync' : `${c.type}:${c.key}`));
      expect(summary, 'every change after the cursor, in the order the store applied them').toEqual([
        'put:feed-1',
        'put:feed-1',
        'put:feed-1',
        'put:feed-1',
        'put:feed-1',
        'delete:feed-0',
        'put:feed-2',
      ]);
      const revisions = changes.map((c) => (c.type === 'resync' ? 0 : c.revision));
      expect(
        [...revisions].sort((x, y) => x - y),
        'revisions grow along the feed',
      ).toEqual(revisions);
      expect(new Set(revisions).size).toBe(revisions.length);
      expect(revisions[0]).toBeGreaterThan(snapshot.entries[0]!.revision);
      // Nothing more than the changes made (a duplicate would show up before the sentinel).
      await writer.put('feed-sentinel', record('feed-sentinel'));
      await waitFor('the feed to report the put of feed-sentinel', () =>
        changes.some((c) => c.type === 'put' && c.key === 'feed-sentinel'),
      );
      expect(changes, 'the feed delivered a change more than once').toHaveLength(8);
    });
  });
}
