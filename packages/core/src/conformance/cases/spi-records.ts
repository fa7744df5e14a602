// Big namespaces, big records and every id character, and history: what a backend must store and
// return whole, byte for byte, checked on raw backends (and once through core).
import { describe, it } from 'vitest';
import { decodeRecord, encodeRecord } from '../../record-codec.js';
import type { NodeInfo } from '../../types/node-info.js';
import { idProblem, MAX_RECORD_BYTES } from '../../validation.js';
import { type SuiteContext, WAIT_LIMIT } from '../harness.js';
import { bytesDiffer, Feed, inParallel, mustPut, QUIET_TTL, recordBytes } from './spi-support.js';

/** The titles of the record cases (the gallery names the case meant to catch each mutant). */
export const SPI_RECORD_TITLES = {
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

/** Sizes, id characters and history, checked on raw backends. */
export function spiRecordCases(suite: SuiteContext): void {
  const T = SPI_RECORD_TITLES;

  describe.concurrent('backend SPI: keys and records', () => {
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
      // Neighbours written in between, whose keys start with hist-1: a history read by key prefix
      // (a key range, a SCAN pattern) would bring their values along.
      for (const [i, value] of values.entries()) {
        await mustPut(writer, 'hist-1', value);
        if (i === 2)
          for (const other of ['hist-10', 'hist-1.x']) await mustPut(writer, other, recordBytes(other, 9));
      }
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
