import { describe, type ExpectStatic, it } from 'vitest';
import type { BackendEntry, DiscoveryBackend, PutResult } from '../../spi/discovery-backend.js';
import { expiryGraceFor, type SuiteContext, sleepUntil, WAIT_LIMIT } from '../harness.js';
import { bytesDiffer, describeChange, Feed, goneBy, mustPut, recordBytes } from './spi-support.js';

/** The ttls the raw bound is checked at: a fractional one, a third of 10 s, whole seconds above 2 s. */
export const SPI_TTLS = [1_100, 10_000 / 3, 3_500];

/** How long before its ttl a key is checked to be still there. */
const BEFORE_TTL = 300;
/** Timer granularity: a key gone this close to its ttl did not expire early. */
const EARLY_SLACK = 25;

/**
 * Reads `key`, written no earlier than `since`, and says whether it is still there. Absent is a
 * failure only when the answer came before the ttl ran out; an answer that came later (the event
 * loop was late on a loaded machine) proves nothing, and the case stops as inconclusive.
 */
async function stillThere(
  backend: DiscoveryBackend,
  key: string,
  since: number,
  ttl: number,
): Promise<BackendEntry | undefined> {
  const asked = Date.now();
  const entry = await backend.get(key);
  const answered = Date.now();
  if (!entry && answered >= since + ttl - EARLY_SLACK)
    throw new Error(
      `inconclusive: get(${key}) answered "absent" ${answered - since} ms after the last write began (ttl ${ttl} ms; the get itself took ${answered - asked} ms): the case could not keep its schedule on this machine`,
    );
  return entry;
}

/**
 * A renewal that completed only after the previous write's ttl ran out may legitimately find the
 * key expired: the case could not keep its schedule (a loaded machine) and proves nothing.
 */
function onSchedule(key: string, previous: number, completed: number, ttl: number): void {
  if (completed >= previous + ttl - EARLY_SLACK)
    throw new Error(
      `inconclusive: a renewal of ${key} completed ${completed - previous} ms after the previous write (ttl ${ttl} ms): the machine is too loaded to keep the case's schedule`,
    );
}

function ttlLabel(ttl: number): string {
  return Number.isInteger(ttl) ? String(ttl) : ttl.toFixed(2);
}

/** The write kinds that must restart a key's ttl (given the key's revision and a counter). */
const RENEWALS: Record<
  string,
  (b: DiscoveryBackend, key: string, revision: number, n: number) => Promise<PutResult>
> = {
  'a conditional put that changes the value': (b, key, revision, n) =>
    b.put(key, recordBytes(key, n), { expectedRevision: revision }),
  'a refreshOnly put': (b, key, revision) =>
    b.put(key, recordBytes(key), { expectedRevision: revision, refreshOnly: true }),
  'a replace (unconditional put)': (b, key, _revision, n) => b.put(key, recordBytes(key, n)),
};

/** The titles of the ttl cases (the gallery names the case meant to catch each mutant). */
export const SPI_TTL_TITLES = {
  bound: (ttl: number) =>
    `backend: a key lives its ttl and is gone within ttl + max(1 s, ttl/4) (ttl ${ttlLabel(ttl)} ms)`,
  renew: (kind: string) => `backend: every kind of write restarts the ttl: ${kind}`,
  createOnly: 'backend: a create-only put (expectedRevision null) starts a ttl: the key expires',
  silent: 'backend: silentHeartbeats: a refreshOnly put renews the ttl without a new revision or a change',
  notSilent: 'backend: without silentHeartbeats, a refreshOnly put is a change in the feed',
  renewKinds: Object.keys(RENEWALS),
};

/** The SPI's ttl duties, checked on raw backends at several ttls. */
export function spiTtlCases(suite: SuiteContext): void {
  const T = SPI_TTL_TITLES;

  /**
   * Checks that `key`, last written between `before` and `after`, is there shortly before its
   * ttl and gone (get() and, with native expiry events, the feed) within the bound.
   */
  async function expiresWithinBound(
    expect: ExpectStatic,
    backend: DiscoveryBackend,
    feed: Feed | undefined,
    key: string,
    ttl: number,
    before: number,
    after: number,
    what: string,
  ): Promise<void> {
    const bound = ttl + expiryGraceFor(ttl);
    if (Date.now() < before + ttl - BEFORE_TTL) {
      await sleepUntil(before + ttl - BEFORE_TTL);
      expect(
        await stillThere(backend, key, before, ttl),
        `${key} was gone ${BEFORE_TTL} ms before its ttl of ${ttl} ms ran out (after ${what})`,
      ).toBeDefined();
    }
    const gone = await goneBy(backend, key, after + bound);
    expect(
      gone,
      `${key} still existed ${bound} ms after ${what}: a key must be gone by ttl + max(1 s, ttl/4) (ttl ${ttl} ms)`,
    ).toBeDefined();
    expect(
      gone! - before,
      `${key} was gone ${gone! - before} ms after ${what}: before its ttl of ${ttl} ms ran out`,
    ).toBeGreaterThanOrEqual(ttl - EARLY_SLACK);
    if (feed && backend.supports.nativeExpiryEvents) {
      const { change, at } = await feed.until(
        `the feed never reported the expiry of ${key} (supports.nativeExpiryEvents is true)`,
        (c) => c.type === 'delete' && c.key === key,
        Math.max(0, after + bound - Date.now()) + 2_000,
      );
      expect(change, `the feed reported the expiry of ${key} without reason expired`).toMatchObject({
        reason: 'expired',
      });
      expect(
        at - after,
        `the feed reported the expiry of ${key} ${at - after} ms after ${what}: later than ttl + max(1 s, ttl/4) = ${bound} ms`,
      ).toBeLessThanOrEqual(bound);
    }
  }

  /**
   * Runs `measure` again (up to three times in all) when it stops as inconclusive; a verdict —
   * a key gone too early or too late — fails at once.
   */
  async function untilConclusive(measure: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await measure();
      } catch (error) {
        const inconclusive = error instanceof Error && error.message.startsWith('inconclusive:');
        if (!inconclusive || attempt >= 3) throw error;
      }
    }
  }

  describe.concurrent('backend SPI: ttl', () => {
    for (const ttl of SPI_TTLS) {
      it(
        T.bound(ttl),
        async ({ expect, onTestFinished }) => {
          const scope = suite.scope(onTestFinished);
          // A measurement whose schedule slipped proves nothing either way: measure again, afresh.
          await untilConclusive(async () => {
            // A namespace has one ttl: each ttl (and each attempt) gets its own.
            const namespace = scope.sibling().namespace;
            const writer = await scope.raw({ ttl, namespace });
            const reader = await scope.raw({ ttl, namespace });
            const { feed } = await Feed.from(reader, onTestFinished);
            const key = `ttl-${Math.round(ttl)}`;
            const before = Date.now();
            await mustPut(writer, key);
            const after = Date.now();
            await expiresWithinBound(expect, writer, feed, key, ttl, before, after, 'its put');
          });
        },
        suite.caseTimeout(ttl),
      );
    }

    for (const [kind, renew] of Object.entries(RENEWALS)) {
      it(T.renew(kind), async ({ expect, onTestFinished }) => {
        const scope = suite.scope(onTestFinished);
        const ttl = suite.ttl;
        const writer = await scope.raw();
        const reader = await scope.raw();
        const { feed } = await Feed.from(reader, onTestFinished);
        // A schedule that slipped (a loaded machine) proves nothing: measure again, on a new key.
        let attempt = 0;
        await untilConclusive(async () => {
          attempt += 1;
          const key = `renew-${attempt}`;
          const start = Date.now();
          let revision = await mustPut(writer, key);
          let before = start;
          let after = Date.now();
          // Renew every ttl/3 until even the latest expiry the first put allows has passed: the key
          // is then alive only because the renewals restarted its ttl.
          const renewUntil = start + ttl + expiryGraceFor(ttl) + 250;
          for (let n = 1; Date.now() < renewUntil; n++) {
            await sleepUntil(before + ttl / 3);
            const current = await stillThere(writer, key, before, ttl);
            expect(
              current,
              `${key} expired ${Date.now() - before} ms after ${kind}: that write did not restart its ttl of ${ttl} ms`,
            ).toBeDefined();
            const previous = before;
            before = Date.now();
            const result = await renew(writer, key, revision, n);
            after = Date.now();
            onSchedule(key, previous, after, ttl);
            expect(result.ok, `${kind} on ${key} at revision ${revision} was refused`).toBe(true);
            if (result.ok) revision = result.revision;
          }
          const deleted = feed.changes.find((c) => c.type === 'delete' && c.key === key);
          expect(
            deleted,
            `the feed reported ${deleted && describeChange(deleted)} while ${kind} renewed ${key} every ttl/3`,
          ).toBeUndefined();
          // And the renewed ttl is a ttl: the key still expires once the writes stop.
          await expiresWithinBound(expect, writer, feed, key, ttl, before, after, `the last write (${kind})`);
        });
      });
    }

    it(T.createOnly, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw();
      const reader = await scope.raw();
      const { feed } = await Feed.from(reader, onTestFinished);
      const before = Date.now();
      const created = await writer.put('create-1', recordBytes('create-1'), { expectedRevision: null });
      const after = Date.now();
      expect(created.ok, 'a create-only put of an absent key was refused').toBe(true);
      await expiresWithinBound(
        expect,
        writer,
        feed,
        'create-1',
        suite.ttl,
        before,
        after,
        'its create-only put',
      );
    });

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
