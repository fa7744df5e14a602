import { describe, it } from 'vitest';
import type { BackendEntry, DiscoveryBackend } from '../../spi/discovery-backend.js';
import { type SuiteContext, waitFor } from '../harness.js';
import {
  apply,
  bytesDiffer,
  describeChange,
  Feed,
  mustPut,
  QUIET_TTL,
  recordBytes,
  type State,
  stateDiffers,
  stateOf,
  tick,
} from './spi-support.js';

/** The titles of the change-feed cases (the gallery names the case meant to catch each mutant). */
export const SPI_FEED_TITLES = {
  continuity: 'backend: cursor continuity: a watch from any snapshot neither replays nor skips a change',
  orderAcrossKeys: 'backend: the feed delivers changes across keys in the order the store applied them',
  identical: 'backend: identical bytes written twice are two changes with growing revisions',
  firstWatch: 'backend: the first watch after open starts at its cursor, not at now',
  stop: 'backend: watch stop() delivers nothing after it resolves, even a read in flight',
  close: 'backend: close() stops its feeds: nothing is delivered after it resolves',
};

/** A change the writer made, in the order the store applied it (deletes report no revision). */
type Applied =
  | { type: 'put'; key: string; revision: number; value: Uint8Array }
  | { type: 'delete'; key: string };

/** The SPI's change feed, checked on raw backends (core would hide a replay or a gap). */
export function spiFeedCases(suite: SuiteContext): void {
  const T = SPI_FEED_TITLES;

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

    it(T.orderAcrossKeys, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(reader, onTestFinished);
      const keys = Array.from({ length: 10 }, (_, i) => `ord-${i}`);
      const applied: string[] = [];
      const revisions: number[] = [];
      const put = async (key: string) => {
        const revision = await mustPut(writer, key);
        applied.push(`put:${key}@${revision}`);
        revisions.push(revision);
      };
      for (const key of keys) await put(key);
      for (const key of [...keys].reverse()) await put(key);
      for (const key of keys.filter((_, i) => i % 2 === 0)) {
        expect(await writer.delete(key), `delete of ${key} resolved false although it exists`).toBe(true);
        applied.push(`delete:${key}`);
      }
      for (const key of [keys[7]!, keys[2]!, keys[5]!, keys[0]!]) await put(key);
      const last = revisions[revisions.length - 1]!;
      await feed.untilPut(keys[0]!, last, `the feed never delivered the last write (put ${keys[0]}@${last})`);
      const got = feed.changes.map((c) => (c.type === 'delete' ? `delete:${c.key}` : describeChange(c)));
      expect(
        got,
        'the feed must deliver changes to different keys in the order the store applied them',
      ).toEqual(applied);
      const feedRevisions = feed.changes.map((c) => (c.type === 'resync' ? 0 : c.revision));
      expect(
        feedRevisions.every((r, i) => i === 0 || r > feedRevisions[i - 1]!),
        `revisions must grow along the feed, across keys: ${feedRevisions.join(', ')}`,
      ).toBe(true);
    });

    it(T.identical, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(reader, onTestFinished);
      const value = recordBytes('same-1');
      const first = await mustPut(writer, 'same-1', value);
      const second = await mustPut(writer, 'same-1', value.slice());
      expect(
        second,
        'a second put of identical bytes must be a new change with a higher revision',
      ).toBeGreaterThan(first);
      expect((await writer.get('same-1'))?.revision, 'get() after the second put').toBe(second);
      await feed.untilPut(
        'same-1',
        second,
        `the feed never reported the second put of identical bytes (revision ${second})`,
      );
      const puts = feed.of('same-1');
      expect(puts.map(describeChange), 'both puts of identical bytes, each once, in the feed').toEqual([
        `put:same-1@${first}`,
        `put:same-1@${second}`,
      ]);
      for (const change of puts)
        expect(
          change.type === 'put' && bytesDiffer(change.value, value),
          'the feed changed the bytes',
        ).toBeFalsy();
    });

    it(T.firstWatch, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      // A fresh namespace: the cursor of an empty snapshot must work as well as any.
      const fresh = await scope.raw({ ttl: QUIET_TTL });
      const empty = await fresh.list();
      expect(empty.entries, 'a fresh namespace lists no keys').toEqual([]);
      const a = await mustPut(writer, 'fw-a');
      const b = await mustPut(writer, 'fw-b');
      expect(await writer.delete('fw-a'), 'delete of fw-a').toBe(true);
      const feed = new Feed(fresh, empty.cursor, onTestFinished);
      await feed.until(
        'the first watch after open never delivered the writes made between its list() and watch(): it started at "now", not at its cursor',
        (c) => c.type === 'delete' && c.key === 'fw-a',
      );
      expect(feed.summary().slice(0, 2), 'the writes made before watch(), from the cursor on').toEqual([
        `put:fw-a@${a}`,
        `put:fw-b@${b}`,
      ]);
      // Again on a namespace that holds keys, with a backend whose only call so far is list().
      const second = await scope.raw({ ttl: QUIET_TTL });
      const snapshot = await second.list();
      expect(
        snapshot.entries.map((e) => e.key),
        'the snapshot',
      ).toEqual(['fw-b']);
      const c = await mustPut(writer, 'fw-c');
      const feed2 = new Feed(second, snapshot.cursor, onTestFinished);
      await feed2.untilPut(
        'fw-c',
        c,
        'the first watch after open never delivered put fw-c, made between its list() and watch(): it started at "now"',
      );
      expect(feed2.summary()[0], 'the feed starts right after its snapshot').toBe(`put:fw-c@${c}`);
    });

    it(T.stop, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const reference = await scope.raw({ ttl: QUIET_TTL });
      const { feed: stopped } = await Feed.from(reader, onTestFinished);
      // A second watch stops itself from inside its own callback.
      const self: string[] = [];
      let selfStopped: number | undefined;
      const selfWatch = reader.watch((await reader.list()).cursor, (change) => {
        self.push(describeChange(change));
        if (self.length === 3)
          void selfWatch.stop().then(() => {
            selfStopped = self.length;
          });
      });
      onTestFinished(() => selfWatch.stop());
      const { feed: witness } = await Feed.from(reference, onTestFinished);
      let writing = true;
      let count = 0;
      const writes = (async () => {
        while (writing) {
          await mustPut(writer, `stop-${count % 3}`, recordBytes(`stop-${count % 3}`, count));
          count++;
          if (count % 5 === 0) await tick();
        }
      })();
      await waitFor('the feed to deliver changes while a writer writes', () => stopped.changes.length >= 3);
      await stopped.watch.stop();
      const atStop = stopped.changes.length;
      // Keep writing: reads in flight at stop() and later ones must all be dropped.
      const resumeAt = count + 30;
      await waitFor('30 more writes', () => count >= resumeAt);
      writing = false;
      await writes;
      const last = await mustPut(writer, 'stop-sentinel');
      await witness.untilPut('stop-sentinel', last, 'an unstopped watch never saw the sentinel put');
      const late = stopped.changes.slice(atStop).map(describeChange);
      expect(
        late.length,
        `the watch delivered ${late.length} changes after its stop() resolved (${late.slice(0, 3).join(', ')}…)`,
      ).toBe(0);
      expect(selfStopped, 'a stop() called from inside onChange never resolved').toBeDefined();
      expect(
        self.slice(selfStopped),
        'a watch stopped from inside its onChange delivered changes after stop() resolved',
      ).toEqual([]);
    });

    it(T.close, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const closing: DiscoveryBackend = await scope.raw({ ttl: QUIET_TTL });
      const reference = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(closing, onTestFinished);
      const { feed: witness } = await Feed.from(reference, onTestFinished);
      let writing = true;
      let count = 0;
      const writes = (async () => {
        while (writing) {
          await mustPut(writer, `close-${count % 3}`, recordBytes(`close-${count % 3}`, count));
          count++;
          if (count % 5 === 0) await tick();
        }
      })();
      await waitFor('the feed to deliver changes while a writer writes', () => feed.changes.length >= 3);
      await closing.close();
      const atClose = feed.changes.length;
      const resumeAt = count + 30;
      await waitFor('30 more writes', () => count >= resumeAt);
      writing = false;
      await writes;
      const last = await mustPut(writer, 'close-sentinel');
      await witness.untilPut('close-sentinel', last, 'a watch on an open backend never saw the sentinel put');
      const late = feed.changes.slice(atClose).map(describeChange);
      expect(
        late.length,
        `a watch left running when close() was called delivered ${late.length} changes after close() resolved (${late.slice(0, 3).join(', ')}…)`,
      ).toBe(0);
    });
  });
}
