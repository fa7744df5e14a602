// refreshOnly puts (plain heartbeats), checked on raw backends: with silentHeartbeats they renew the
// ttl and change nothing else; without it they are writes like any other (rule 2 of docs/guarantees.md).
import { describe, it } from 'vitest';
import type { SuiteContext } from '../harness.js';
import { expiryGraceFor, sleepUntil, WAIT_LIMIT } from '../harness.js';
import { bytesDiffer, describeChange, Feed, mustPut, recordBytes } from './spi-support.js';
import { expiresWithinBound, onSchedule, stillThere } from './spi-ttl-support.js';

/** The titles of the heartbeat cases (the gallery names the case meant to catch each mutant). */
export const SPI_HEARTBEAT_TITLES = {
  silent: 'backend: silentHeartbeats: a refreshOnly put renews the ttl without a new revision or a change',
  notSilent: 'backend: without silentHeartbeats, a refreshOnly put is a change in the feed',
};

/** refreshOnly puts with and without `supports.silentHeartbeats`, checked on raw backends. */
export function spiHeartbeatCases(suite: SuiteContext): void {
  const T = SPI_HEARTBEAT_TITLES;

  describe.concurrent('backend SPI: ttl', () => {
    it(T.silent, async (context) => {
      if (!suite.supports().silentHeartbeats) context.skip();
      const { expect, onTestFinished } = context;
      const scope = suite.scope(onTestFinished);
      const ttl = suite.ttl;
      const writer = await scope.raw();
      const reader = await scope.raw();
      const key = 'silent-1';
      const original = recordBytes(key);
      const start = Date.now();
      const revision = await mustPut(writer, key, original);
      const { feed } = await Feed.from(reader, onTestFinished);
      expect(
        await writer.put(key, recordBytes(key), { expectedRevision: revision + 1_000, refreshOnly: true }),
        'a refreshOnly put with a revision the key does not have must be a conflict (the condition is checked first)',
      ).toEqual({ ok: false });
      let before = start;
      let after = Date.now();
      const renewUntil = start + ttl + expiryGraceFor(ttl) + 250;
      while (Date.now() < renewUntil) {
        await sleepUntil(before + ttl / 3);
        const current = await stillThere(writer, key, before, ttl);
        expect(current, `${key} expired although a refreshOnly put renewed it every ttl/3`).toBeDefined();
        expect(current!.revision, 'a silent refreshOnly put changed the revision').toBe(revision);
        expect(
          bytesDiffer(current!.value, original),
          'a silent refreshOnly put changed the stored value (with silentHeartbeats the record stays as it was)',
        ).toBeUndefined();
        const previous = before;
        before = Date.now();
        const result = await writer.put(key, recordBytes(key), {
          expectedRevision: revision,
          refreshOnly: true,
        });
        after = Date.now();
        onSchedule(key, previous, after, ttl);
        expect(result, 'a silent refreshOnly put must resolve with the unchanged revision').toEqual({
          ok: true,
          revision,
        });
      }
      const sentinel = await mustPut(writer, 'silent-sentinel');
      await feed.untilPut('silent-sentinel', sentinel, 'the feed never delivered the sentinel put');
      expect(
        feed.changes.map(describeChange),
        'with silentHeartbeats a refreshOnly put must send nothing through the feed',
      ).toEqual([`put:silent-sentinel@${sentinel}`]);
      await expiresWithinBound(
        expect,
        writer,
        feed,
        key,
        ttl,
        before,
        after,
        'the last silent refreshOnly put',
      );
    });

    it(T.notSilent, async (context) => {
      if (suite.supports().silentHeartbeats) context.skip();
      const { expect, onTestFinished } = context;
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw();
      const reader = await scope.raw();
      const key = 'loud-1';
      const first = await mustPut(writer, key);
      const { feed } = await Feed.from(reader, onTestFinished);
      expect(
        await writer.put(key, recordBytes(key), { expectedRevision: first + 1_000, refreshOnly: true }),
        'a refreshOnly put with a revision the key does not have must be a conflict',
      ).toEqual({ ok: false });
      const value = recordBytes(key, 0, 'i-refreshed');
      const result = await writer.put(key, value, { expectedRevision: first, refreshOnly: true });
      expect(result.ok, 'a refreshOnly put at the current revision was refused').toBe(true);
      const revision = result.ok ? result.revision : 0;
      expect(
        revision,
        'without silentHeartbeats a refreshOnly put stores the value: it must get a new, higher revision',
      ).toBeGreaterThan(first);
      const stored = await writer.get(key);
      expect(stored?.revision, 'get() after a refreshOnly put').toBe(revision);
      expect(
        bytesDiffer(stored?.value, value),
        'get() after a refreshOnly put must return its bytes',
      ).toBeUndefined();
      const { change } = await feed.until(
        `without silentHeartbeats the feed never reported the refreshOnly put ${key}@${revision}: it must report it like any put`,
        (c) => c.type === 'put' && c.key === key,
        WAIT_LIMIT,
      );
      expect(describeChange(change), 'the refreshOnly put in the feed').toBe(`put:${key}@${revision}`);
      expect(
        change.type === 'put' && bytesDiffer(change.value, value),
        'the feed carried other bytes than the refreshOnly put wrote',
      ).toBeFalsy();
    });
  });
}
