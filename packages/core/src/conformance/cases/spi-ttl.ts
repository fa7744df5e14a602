// The SPI's ttl duties, checked on raw backends: a key lives its ttl and is gone within the bound at
// several ttls, and every kind of write (a create-only one too) restarts it.
import { describe, it } from 'vitest';
import type { DiscoveryBackend, PutResult } from '../../spi/discovery-backend.js';
import { expiryGraceFor, type SuiteContext, sleepUntil } from '../harness.js';
import { describeChange, Feed, mustPut, recordBytes } from './spi-support.js';
import { expiresWithinBound, onSchedule, stillThere, ttlLabel, untilConclusive } from './spi-ttl-support.js';

/** The ttls the raw bound is checked at: a fractional one, a third of 10 s, whole seconds above 2 s. */
export const SPI_TTLS = [1_100, 10_000 / 3, 3_500];

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
  renewKinds: Object.keys(RENEWALS),
};

/** The SPI's ttl duties, checked on raw backends at several ttls. */
export function spiTtlCases(suite: SuiteContext): void {
  const T = SPI_TTL_TITLES;

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
  });
}
