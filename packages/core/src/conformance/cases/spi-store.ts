// Deletes and compare-and-set on raw backends: what a delete resolves, revisions a key never had or
// had before a delete and re-create, and the one key a write touches.
import { describe, it } from 'vitest';
import type { SuiteContext } from '../harness.js';
import { bytesDiffer, describeChange, Feed, mustPut, QUIET_TTL, recordBytes } from './spi-support.js';

/** The titles of the storage cases (the gallery names the case meant to catch each mutant). */
export const SPI_STORE_TITLES = {
  deleteResults: 'backend: delete resolves false for an absent key and for a second delete',
  casNever: 'backend: compare-and-set with a revision the key never had is a conflict and writes nothing',
  aba: 'backend: compare-and-set after a delete and a re-create: the revision from before the delete is a conflict (no ABA)',
  oneKey: 'backend: a put or delete touches exactly one key (api-1, not api-10 or api-1.x)',
};

/** Deletes, compare-and-set and the one key a write touches, checked on raw backends. */
export function spiStoreCases(suite: SuiteContext): void {
  const T = SPI_STORE_TITLES;

  describe.concurrent('backend SPI: keys and records', () => {
    it(T.deleteResults, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const a = await scope.raw({ ttl: QUIET_TTL });
      const b = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(b, onTestFinished);
      expect(await a.delete('del-never'), 'deleting a key that never existed resolved true').toBe(false);
      expect(
        await a.delete('del-never', { expectedRevision: 1 }),
        'a conditional delete of a key that never existed resolved true',
      ).toBe(false);
      await mustPut(a, 'del-1');
      expect(await a.delete('del-1'), 'deleting an existing key resolved false').toBe(true);
      expect(await a.delete('del-1'), 'a second delete of the same key resolved true').toBe(false);
      expect(await b.delete('del-1'), 'a second delete from another backend resolved true').toBe(false);
      // Two deletes racing from two backends: exactly one of them deleted the key.
      await mustPut(a, 'del-2');
      const raced = await Promise.all([a.delete('del-2'), b.delete('del-2')]);
      expect(
        raced.filter(Boolean),
        `two racing deletes of one key resolved ${raced.join(' and ')}: exactly one deletes it`,
      ).toHaveLength(1);
      const sentinel = await mustPut(a, 'del-sentinel');
      await feed.untilPut('del-sentinel', sentinel, 'the feed never delivered the sentinel put');
      const deletes = feed.changes
        .filter((c) => c.type === 'delete')
        .map((c) => (c.type === 'delete' ? c.key : ''));
      expect(deletes, 'one delete in the feed per key actually deleted, none for the others').toEqual([
        'del-1',
        'del-2',
      ]);
    });

    it(T.casNever, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(reader, onTestFinished);
      await mustPut(writer, 'never-0');
      const value = recordBytes('never-1', 1);
      const current = await mustPut(writer, 'never-1', value);
      await mustPut(writer, 'never-2');
      // A revision of another key, one between, and ones beyond anything the namespace reached.
      const never = [current - 1, current + 1, current + 1_000, current * 2 + 7, 0];
      for (const expectedRevision of never) {
        expect(
          await writer.put('never-1', recordBytes('never-1', 2), { expectedRevision }),
          `put with expectedRevision ${expectedRevision} (the key is at ${current}) must be a conflict`,
        ).toEqual({ ok: false });
        expect(
          await writer.put('never-1', recordBytes('never-1', 2), { expectedRevision, refreshOnly: true }),
          `a refreshOnly put with expectedRevision ${expectedRevision} (the key is at ${current}) must be a conflict`,
        ).toEqual({ ok: false });
        expect(
          await writer.delete('never-1', { expectedRevision }),
          `delete with expectedRevision ${expectedRevision} (the key is at ${current}) must resolve false`,
        ).toBe(false);
      }
      const stored = await writer.get('never-1');
      expect(stored?.revision, 'a refused compare-and-set changed the revision').toBe(current);
      expect(
        bytesDiffer(stored?.value, value),
        'a refused compare-and-set changed the value',
      ).toBeUndefined();
      const sentinel = await mustPut(writer, 'never-sentinel');
      await feed.untilPut('never-sentinel', sentinel, 'the feed never delivered the sentinel put');
      expect(
        feed.of('never-1').map(describeChange),
        'a refused compare-and-set must send nothing through the feed',
      ).toEqual([`put:never-1@${current}`]);
    });

    it(T.aba, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      // A stale owner, and another process that deletes its key and creates it again.
      const stale = await scope.raw({ ttl: QUIET_TTL });
      const other = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(await scope.raw({ ttl: QUIET_TTL }), onTestFinished);
      // Re-created once with a create-only put, once with an unconditional one.
      for (const [key, recreate] of [
        ['aba-1', { expectedRevision: null }],
        ['aba-2', {}],
      ] as const) {
        const old = await mustPut(stale, key, recordBytes(key, 1));
        expect(await other.delete(key), `delete of ${key} resolved false although it exists`).toBe(true);
        const value = recordBytes(key, 2, `i-new-${key}`);
        const created = await other.put(key, value, recreate);
        expect(created.ok, `re-creating ${key} after its delete was refused`).toBe(true);
        const current = created.ok ? created.revision : 0;
        expect(
          current,
          `${key} re-created must get a revision above the one before its delete`,
        ).toBeGreaterThan(old);
        expect(
          await stale.put(key, recordBytes(key, 3), { expectedRevision: old }),
          `a put of ${key} conditioned on revision ${old}, which the key had before it was deleted and re-created (now ${current}), must be a conflict`,
        ).toEqual({ ok: false });
        expect(
          await stale.put(key, recordBytes(key, 3), { expectedRevision: old, refreshOnly: true }),
          `a refreshOnly put of ${key} conditioned on revision ${old} (before its delete; now ${current}) must be a conflict`,
        ).toEqual({ ok: false });
        expect(
          await stale.delete(key, { expectedRevision: old }),
          `a delete of ${key} conditioned on revision ${old} (before its delete; now ${current}) must resolve false`,
        ).toBe(false);
        const stored = await other.get(key);
        expect(stored?.revision, `a refused write changed the revision of the re-created ${key}`).toBe(
          current,
        );
        expect(
          bytesDiffer(stored?.value, value),
          `a refused write changed the value of the re-created ${key}`,
        ).toBeUndefined();
      }
      const sentinel = await mustPut(other, 'aba-sentinel');
      await feed.untilPut('aba-sentinel', sentinel, 'the feed never delivered the sentinel put');
      expect(
        feed.changes.map((c) =>
          c.type === 'delete' ? `delete:${c.key}` : c.type === 'put' ? `put:${c.key}` : 'resync',
        ),
        'each key: put, delete, re-create; a refused write sends nothing through the feed',
      ).toEqual([
        'put:aba-1',
        'delete:aba-1',
        'put:aba-1',
        'put:aba-2',
        'delete:aba-2',
        'put:aba-2',
        'put:aba-sentinel',
      ]);
    });

    it(T.oneKey, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const neighbours = [
        'api-10',
        'api-1.x',
        'api-1-x',
        'api-1_x',
        'api-1=x',
        'api',
        'xapi-1',
        'API-1',
        'api-2',
      ];
      const revisions = new Map<string, number>();
      const values = new Map<string, Uint8Array>();
      for (const key of ['api-1', ...neighbours]) {
        const value = recordBytes(key, revisions.size);
        values.set(key, value);
        revisions.set(key, await mustPut(writer, key, value));
      }
      const { feed } = await Feed.from(reader, onTestFinished);
      const unchanged = async (after: string) => {
        for (const key of neighbours) {
          const entry = await reader.get(key);
          expect(entry, `${after} removed ${key}: a write must touch exactly one key`).toBeDefined();
          expect(entry!.revision, `${after} changed the revision of ${key}`).toBe(revisions.get(key));
          expect(
            bytesDiffer(entry!.value, values.get(key)),
            `${after} changed the value of ${key}`,
          ).toBeUndefined();
        }
        const listed = (await reader.list()).entries.filter((e) => e.key !== 'api-1');
        expect(
          listed.map((e) => `${e.key}@${e.revision}`).sort(),
          `after ${after}, list() must show the other keys as they were`,
        ).toEqual(neighbours.map((k) => `${k}@${revisions.get(k)}`).sort());
      };
      const put = await mustPut(writer, 'api-1', recordBytes('api-1', 99));
      await unchanged('a put of api-1');
      expect(await writer.delete('api-1'), 'delete of api-1 resolved false').toBe(true);
      await unchanged('a delete of api-1');
      expect(await reader.get('api-1'), 'api-1 is still there after its delete').toBeUndefined();
      const sentinel = await mustPut(writer, 'one-sentinel');
      await feed.untilPut('one-sentinel', sentinel, 'the feed never delivered the sentinel put');
      expect(
        feed.changes.map((c) => (c.type === 'delete' ? `delete:${c.key}` : describeChange(c))),
        'a put and a delete of api-1 are two changes of api-1 and nothing else',
      ).toEqual([`put:api-1@${put}`, 'delete:api-1', `put:one-sentinel@${sentinel}`]);
    });
  });
}
