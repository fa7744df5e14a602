import { describe, it } from 'vitest';
import { decodeRecord, encodeRecord } from '../../record-codec.js';
import type { NodeInfo } from '../../types/node-info.js';
import { idProblem, MAX_RECORD_BYTES } from '../../validation.js';
import { type SuiteContext, WAIT_LIMIT } from '../harness.js';
import {
  bytesDiffer,
  describeChange,
  Feed,
  inParallel,
  mustPut,
  QUIET_TTL,
  recordBytes,
} from './spi-support.js';

/** The titles of the storage cases (the gallery names the case meant to catch each mutant). */
export const SPI_STORE_TITLES = {
  deleteResults: 'backend: delete resolves false for an absent key and for a second delete',
  casNever: 'backend: compare-and-set with a revision the key never had is a conflict and writes nothing',
  oneKey: 'backend: a put or delete touches exactly one key (api-1, not api-10 or api-1.x)',
  largeNamespace: 'backend: list() returns every key of a namespace of 1 250 keys',
  largest: 'backend: the largest record and every allowed id character round-trip byte for byte',
  largestCore:
    'backend: through core, another instance sees an equal NodeInfo for the largest record and longest id',
  history: 'backend: history(key, limit) returns at most limit values, newest first, current first',
};

/** 128 characters using every character an id may have: letters, digits, `_ - =` and single dots. */
export const LONGEST_ID = (() => {
  let id = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ.abcdefghijklmnopqrstuvwxyz.0123456789_-=.';
  const filler = 'q=Z_9-x.';
  while (id.length < 128) id += filler;
  id = id.slice(0, 127);
  id += id.endsWith('.') ? 'e' : 'E';
  return id;
})();

const LARGE_NAMESPACE = 1_250;
/** Keeps the 1 250 keys alive while they are written and listed, at any suite ttl. */
const LARGE_TTL = 60_000;

/**
 * A v1 record of `id` whose JSON is exactly `bytes` long, padded with multi-byte UTF-8
 * (2, 3 and 4 bytes: é € 😀) so that a backend that stores text instead of bytes shows it.
 */
function paddedRecord(id: string, bytes: number): Uint8Array {
  const now = Date.now();
  const node = (pad: string): NodeInfo => ({
    id,
    address: 'host-1.example:8080',
    metadata: { role: 'api', pad },
    load: 0.25,
    instanceId: `i-${id.slice(0, 8)}`,
    registeredAt: now,
    lastSeen: now,
  });
  const base = encodeRecord(node('')).byteLength;
  const chunk = 'é€😀a';
  const chunkBytes = new TextEncoder().encode(chunk).byteLength;
  const chunks = Math.floor((bytes - base) / chunkBytes);
  const pad = chunk.repeat(chunks) + 'a'.repeat(bytes - base - chunks * chunkBytes);
  const value = encodeRecord(node(pad));
  if (value.byteLength !== bytes)
    throw new Error(`the suite built a ${value.byteLength}-byte record, not ${bytes}`);
  return value;
}

/** Keys, records and their limits, checked on raw backends. */
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

    it(
      T.largeNamespace,
      async ({ expect, onTestFinished }) => {
        const scope = suite.scope(onTestFinished);
        const namespace = scope.sibling().namespace;
        const writers = [
          await scope.raw({ ttl: LARGE_TTL, namespace }),
          await scope.raw({ ttl: LARGE_TTL, namespace }),
        ];
        const reader = await scope.raw({ ttl: LARGE_TTL, namespace });
        const keys = Array.from({ length: LARGE_NAMESPACE }, (_, i) => `many-${String(i).padStart(4, '0')}`);
        const written = new Map<string, number>();
        let n = 0;
        await inParallel(keys, 16, async (key) => {
          written.set(key, await mustPut(writers[n++ % writers.length]!, key));
        });
        const { entries } = await reader.list();
        const seen = new Map<string, number>();
        for (const entry of entries) {
          expect(seen.has(entry.key), `list() returned ${entry.key} twice`).toBe(false);
          seen.set(entry.key, entry.revision);
        }
        const missing = keys.filter((k) => !seen.has(k));
        expect(
          missing.length,
          `list() of a namespace of ${LARGE_NAMESPACE} keys missed ${missing.length} of them (e.g. ${missing.slice(0, 3).join(', ')}): it must return every key, past any page size`,
        ).toBe(0);
        expect(entries.length, 'list() returned keys that were never written').toBe(LARGE_NAMESPACE);
        const wrong = keys.filter((k) => seen.get(k) !== written.get(k));
        expect(wrong.slice(0, 3), 'list() returned revisions other than the puts returned').toEqual([]);
      },
      suite.caseTimeout() + 60_000,
    );

    it(T.largest, async ({ expect, onTestFinished }) => {
      expect(idProblem(LONGEST_ID), 'the suite built an invalid id').toBeUndefined();
      expect(LONGEST_ID).toHaveLength(128);
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(reader, onTestFinished);
      // A small record first: multi-byte UTF-8 must come back as the same bytes at any size.
      const small = paddedRecord('utf8-1', 600);
      await mustPut(writer, 'utf8-1', small);
      expect(
        bytesDiffer((await reader.get('utf8-1'))?.value, small),
        'get() returned other bytes than were put (values are bytes, not text: multi-byte UTF-8 must survive)',
      ).toBeUndefined();
      expect(await writer.delete('utf8-1'), 'delete of utf8-1').toBe(true);
      const value = paddedRecord(LONGEST_ID, MAX_RECORD_BYTES);
      const revision = await mustPut(
        writer,
        LONGEST_ID,
        value,
        `a put of the largest allowed record (${MAX_RECORD_BYTES} bytes) under a 128-character id was refused`,
      );
      const got = await reader.get(LONGEST_ID);
      expect(got?.key, 'get() of the 128-character id returned another key').toBe(LONGEST_ID);
      expect(got?.revision).toBe(revision);
      expect(bytesDiffer(got?.value, value), 'get() returned other bytes than were put').toBeUndefined();
      const listed = (await reader.list()).entries;
      expect(
        listed.map((e) => e.key),
        'list() must return the 128-character id as written',
      ).toEqual([LONGEST_ID]);
      expect(
        bytesDiffer(listed[0]?.value, value),
        'list() returned other bytes than were put',
      ).toBeUndefined();
      const { change } = await feed.until(
        'the feed never reported the put of the largest record',
        (c) => c.type === 'put' && c.key !== 'utf8-1',
      );
      expect(change.type === 'put' && change.key, 'the feed changed the key').toBe(LONGEST_ID);
      expect(
        change.type === 'put' && bytesDiffer(change.value, value),
        'the feed carried other bytes than were put',
      ).toBeFalsy();
    });

    it(T.largestCore, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const owner = await scope.open({ autoHeartbeat: false });
      const watcher = await scope.open();
      const watch = scope.record(watcher);
      // Just under 16 KiB once core adds its instanceId and timestamps.
      const sample = paddedRecord(LONGEST_ID, MAX_RECORD_BYTES - 120);
      const decoded = decodeRecord(LONGEST_ID, sample);
      if (!decoded.ok) throw new Error(`the suite built a foreign record: ${decoded.problem}`);
      const { id, address, metadata, load } = decoded.node;
      const info = await owner.register({ id, address, metadata: { ...metadata }, load });
      const size = encodeRecord(info).byteLength;
      expect(size, 'the record is just under 16 KiB').toBeLessThanOrEqual(MAX_RECORD_BYTES);
      expect(size).toBeGreaterThan(MAX_RECORD_BYTES - 400);
      const joined = await watch.joined(
        id,
        WAIT_LIMIT,
        0,
        'the largest record never reached another instance',
      );
      expect(joined.event.node, 'a watcher must see a NodeInfo equal to the one registered').toEqual(info);
      const late = await scope.open();
      expect(
        late.get(id),
        'an instance opened later must list a NodeInfo equal to the one registered',
      ).toEqual(info);
      const raw = await (await scope.raw()).get(id);
      expect(raw?.key, 'the raw key').toBe(id);
      expect(
        bytesDiffer(raw?.value, encodeRecord(info)),
        'the stored value must be the record bytes core wrote',
      ).toBeUndefined();
    });

    it(T.history, async (context) => {
      if (!suite.supports().history) context.skip();
      const { expect, onTestFinished } = context;
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      if (!writer.history)
        throw new Error('supports.history is true but the backend has no history() method');
      const values = Array.from({ length: 5 }, (_, load) => recordBytes('hist-1', load));
      for (const value of values) await mustPut(writer, 'hist-1', value);
      const newestFirst = [...values].reverse();
      let previous = 0;
      for (const limit of [1, 2, 3, 5, 10]) {
        const got = await reader.history!('hist-1', limit);
        expect(
          got.length,
          `history(key, ${limit}) returned ${got.length} values: at most ${limit}`,
        ).toBeLessThanOrEqual(limit);
        // A store keeps a bounded depth, but a backend with the capability keeps earlier values,
        // and a larger limit never returns fewer.
        expect(
          got.length,
          `history(key, ${limit}) returned ${got.length} values after 5 full writes: the current one and at least one earlier one are expected`,
        ).toBeGreaterThanOrEqual(Math.min(limit, 2));
        expect(
          got.length,
          `history(key, ${limit}) returned fewer values than a smaller limit did (${previous})`,
        ).toBeGreaterThanOrEqual(previous);
        previous = got.length;
        for (const [i, value] of got.entries())
          expect(
            bytesDiffer(value, newestFirst[i]),
            `history(key, ${limit})[${i}] is not the ${i === 0 ? 'current value' : `value written ${i} writes before it`}: newest first, current first`,
          ).toBeUndefined();
      }
    });
  });
}
