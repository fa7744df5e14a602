// Cursor continuity: a watch from any snapshot, during writes and after a burst, gets exactly the
// changes after it — none replayed, none skipped, none dropped — checked on raw backends.
import { describe, it } from 'vitest';
import type { BackendEntry } from '../../spi/discovery-backend.js';
import type { SuiteContext } from '../harness.js';
import {
  apply,
  bytesDiffer,
  describeChange,
  Feed,
  inParallel,
  mustPut,
  QUIET_TTL,
  recordBytes,
  type State,
  stateDiffers,
  stateOf,
  tick,
} from './spi-support.js';

/** The titles of the continuity cases (the gallery names the case meant to catch each mutant). */
export const SPI_CONTINUITY_TITLES = {
  continuity: 'backend: cursor continuity: a watch from any snapshot neither replays nor skips a change',
  burst: 'backend: a burst of 600 writes reaches the feed complete, in order, each change once',
};

/** Writes of the burst case: more than a feed's buffer, a page or a subscription's message cap. */
const BURST = 600;

/** A change the writer made, in the order the store applied it (deletes report no revision). */
type Applied =
  | { type: 'put'; key: string; revision: number; value: Uint8Array }
  | { type: 'delete'; key: string };

/** Continuity of the change feed, checked on raw backends (core would hide a replay or a gap). */
export function spiContinuityCases(suite: SuiteContext): void {
  const T = SPI_CONTINUITY_TITLES;

  describe.concurrent('backend SPI: change feed', () => {
    it(T.continuity, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const namespace = scope.sibling().namespace;
      const writer = await scope.raw({ ttl: QUIET_TTL, namespace });
      const readers = [
        await scope.raw({ ttl: QUIET_TTL, namespace }),
        await scope.raw({ ttl: QUIET_TTL, namespace }),
      ];
      const keys = ['cc-0', 'cc-1', 'cc-2', 'cc-3', 'cc-4'];
      const applied: Applied[] = [];
      let writing = true;

      const writes = (async () => {
        try {
          for (let i = 0; i < 300; i++) {
            const key = keys[Math.floor(Math.random() * keys.length)]!;
            if (Math.random() < 0.3) {
              if (await writer.delete(key)) applied.push({ type: 'delete', key });
            } else {
              const value = recordBytes(key, i);
              const revision = await mustPut(writer, key, value);
              applied.push({ type: 'put', key, revision, value });
            }
            if (i % 2 === 0) await tick();
          }
        } finally {
          writing = false;
        }
      })();

      // Snapshots taken while the writer runs, each watched from its cursor (sometimes a little
      // later, so that writes land between list() and watch()).
      const watched: { entries: readonly BackendEntry[]; feed: Feed }[] = [];
      while (writing && watched.length < 25) {
        const reader = readers[watched.length % readers.length]!;
        const snapshot = await reader.list();
        if (watched.length % 2 === 1) await tick(Math.random() * 5);
        watched.push({ entries: snapshot.entries, feed: new Feed(reader, snapshot.cursor, onTestFinished) });
        await tick(5 + Math.random() * 10);
      }
      await writes;
      const sentinel = recordBytes('cc-sentinel');
      const sentinelRevision = await mustPut(writer, 'cc-sentinel', sentinel);
      applied.push({ type: 'put', key: 'cc-sentinel', revision: sentinelRevision, value: sentinel });
      expect(watched.length, 'the case took fewer than 2 snapshots while writing').toBeGreaterThanOrEqual(2);

      for (const [n, { feed }] of watched.entries())
        await feed.until(
          `watch #${n} never delivered the last write (put cc-sentinel@${sentinelRevision})`,
          (c) => c.type === 'resync' || (c.type === 'put' && c.key === 'cc-sentinel'),
        );
      const final = stateOf((await writer.list()).entries);

      for (const [n, { entries, feed }] of watched.entries()) {
        const resync = feed.resync();
        expect(
          resync,
          `watch #${n} signalled resync with no outage: ${resync && describeChange(resync)}`,
        ).toBeUndefined();
        const keys = entries.map((e) => e.key);
        const twice = keys.filter((key, i) => keys.indexOf(key) !== i);
        expect(twice, `snapshot #${n} lists keys more than once: list() returns each live key once`).toEqual(
          [],
        );
        const snapshot = stateOf(entries);
        const newestInSnapshot = Math.max(0, ...entries.map((e) => e.revision));
        let previous = 0;
        for (const change of feed.changes) {
          if (change.type === 'resync') continue;
          const held = snapshot.get(change.key)?.revision;
          expect(
            held !== undefined && change.revision <= held,
            `watch #${n} replayed ${describeChange(change)}: its snapshot already held ${change.key} at revision ${held}`,
          ).toBe(false);
          expect(
            change.revision > newestInSnapshot,
            `watch #${n} delivered ${describeChange(change)}, older than its snapshot (which holds revision ${newestInSnapshot})`,
          ).toBe(true);
          expect(
            change.revision > previous,
            `watch #${n} delivered ${describeChange(change)} after revision ${previous}: revisions must grow along the feed`,
          ).toBe(true);
          previous = change.revision;
        }
        // The feed must be exactly the last feed.length changes the store applied (aligned on the
        // final write), and the snapshot exactly the state before them: no gap, no replay.
        const tail = applied.slice(applied.length - feed.changes.length);
        expect(
          feed.changes.length <= applied.length,
          `watch #${n} delivered ${feed.changes.length} changes; the store applied only ${applied.length}`,
        ).toBe(true);
        for (const [i, change] of feed.changes.entries()) {
          const want = tail[i]!;
          const same =
            change.type !== 'resync' &&
            change.type === want.type &&
            change.key === want.key &&
            (want.type === 'delete' ||
              (change.type === 'put' &&
                change.revision === want.revision &&
                !bytesDiffer(change.value, want.value)));
          expect(
            same,
            `watch #${n}: change #${i} of its feed is ${describeChange(change)} where the store applied ${want.type}:${want.key}${want.type === 'put' ? `@${want.revision}` : ''} (a change was skipped, replayed or altered)`,
          ).toBe(true);
        }
        const before: State = new Map();
        for (const change of applied.slice(0, applied.length - feed.changes.length))
          apply(before, change.type === 'put' ? change : { ...change, revision: 0 });
        const junction = stateDiffers(snapshot, before);
        expect(
          junction,
          `watch #${n}: its snapshot is not the state just before the first change of its feed (${junction}): changes between list() and the cursor were lost or replayed`,
        ).toBeUndefined();
        const replayed = new Map(snapshot);
        for (const change of feed.changes) apply(replayed, change);
        const gap = stateDiffers(replayed, final);
        expect(gap, `watch #${n}: snapshot + feed differs from a final list(): ${gap}`).toBeUndefined();
      }
    });

    it(T.burst, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writers = [await scope.raw({ ttl: QUIET_TTL }), await scope.raw({ ttl: QUIET_TTL })];
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const { feed: live } = await Feed.from(reader, onTestFinished);
      const start = (await reader.list()).cursor;
      const keys = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
      const written = new Map<number, string>();
      let n = 0;
      // As fast as the writers go, many in flight at once: a feed that buffers, caps or batches shows it.
      await inParallel(
        Array.from({ length: BURST }, (_, i) => i),
        32,
        async (i) => {
          const key = keys[i % keys.length]!;
          written.set(await mustPut(writers[n++ % writers.length]!, key, recordBytes(key, i)), key);
        },
      );
      const sentinel = await mustPut(writers[0]!, 'burst-sentinel');
      written.set(sentinel, 'burst-sentinel');
      const inOrder = [...written.keys()].sort((x, y) => x - y);
      // The live feed, and a watch that replays the whole burst from a cursor taken before it: that
      // one may say resync (a cursor too old to resume from), but what it delivers before must fit.
      const replay = new Feed(reader, start, onTestFinished);
      for (const [name, feed, mayResync] of [
        ['the live feed', live, false],
        ['a watch from a cursor taken before the burst', replay, true],
      ] as const) {
        await feed.until(
          `${name} never delivered the put after a burst of ${BURST} writes (it got ${feed.changes.length} changes)`,
          (c) => c.type === 'resync' || (c.type === 'put' && c.key === 'burst-sentinel'),
        );
        const resync = feed.resync();
        if (!mayResync)
          expect(resync, `${name} signalled resync with no outage: ${resync?.reason}`).toBeUndefined();
        const resyncAt = feed.changes.findIndex((c) => c.type === 'resync');
        const before = resyncAt < 0 ? feed.changes : feed.changes.slice(0, resyncAt);
        const got = before.map((c) => (c.type === 'put' ? `put:${c.key}@${c.revision}` : describeChange(c)));
        const want = inOrder.slice(0, resyncAt < 0 ? inOrder.length : got.length);
        const at = want.findIndex((revision, i) => got[i] !== `put:${written.get(revision)}@${revision}`);
        const i = at < 0 ? want.length : at;
        const applied = want[i] === undefined ? 'nothing more' : `put:${written.get(want[i]!)}@${want[i]}`;
        expect(
          at < 0 && got.length === want.length,
          `${name}: change #${i} is ${got[i] ?? 'missing'} where the store applied ${applied}: after a burst of ${BURST} writes every change must reach the feed once, in revision order (or the feed must resync)`,
        ).toBe(true);
      }
    });
  });
}
