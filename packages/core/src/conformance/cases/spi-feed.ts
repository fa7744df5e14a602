// The change feed's order, identity and end: across keys, identical writes, the first watch, stop()
// and close() — checked on raw backends.
import { describe, it } from 'vitest';
import type { DiscoveryBackend } from '../../spi/discovery-backend.js';
import { type SuiteContext, waitFor } from '../harness.js';
import { bytesDiffer, describeChange, Feed, mustPut, QUIET_TTL, recordBytes, tick } from './spi-support.js';

/** The titles of the change-feed cases (the gallery names the case meant to catch each mutant). */
export const SPI_FEED_TITLES = {
  orderAcrossKeys: 'backend: the feed delivers changes across keys in the order the store applied them',
  identical: 'backend: identical bytes written twice are two changes with growing revisions',
  firstWatch: 'backend: the first watch after open starts at its cursor, not at now',
  stop: 'backend: watch stop() delivers nothing after it resolves, even a read in flight',
  close: 'backend: close() stops its feeds: nothing is delivered after it resolves',
};

/** The SPI's change feed, checked on raw backends (core would hide a reorder or a late change). */
export function spiFeedCases(suite: SuiteContext): void {
  const T = SPI_FEED_TITLES;

  describe.concurrent('backend SPI: change feed', () => {
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
