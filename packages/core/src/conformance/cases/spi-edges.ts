import { describe, it } from 'vitest';
import { DiscoveryError, InvalidOptionsError } from '../../errors.js';
import { captureLogger, type SuiteContext, settlesWithin } from '../harness.js';
import { describeChange, Feed, mustPut, QUIET_TTL, recordBytes } from './spi-support.js';

/** The titles of the SPI's edge cases (the gallery names the case meant to catch each mutant). */
export const SPI_EDGE_TITLES = {
  closeTwice: 'backend: close() is idempotent: twice in a row, twice at once, and on a backend never opened',
  openTwice: 'backend: a second open() of one backend rejects InvalidOptionsError and the first stays usable',
  invalidCursor: 'backend: watch() from a cursor list() never returned throws InvalidOptionsError',
  deleteIfAbsent:
    'backend: delete with expectedRevision null (only if absent) deletes nothing and resolves false',
};

/** Cursors no backend returns from list(). */
const FOREIGN_CURSORS = ['not-a-cursor', 'cursor with spaces ✗'];

/**
 * The SPI's edges, where the shipped backends once differed: opening twice, closing twice, a
 * foreign cursor, a delete conditioned on absence. Checked on raw backends: one answer everywhere.
 */
export function spiEdgeCases(suite: SuiteContext): void {
  const T = SPI_EDGE_TITLES;

  describe.concurrent('backend SPI: edges', () => {
    it(T.closeTwice, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const limit = suite.requestTimeout + 1_000;
      const inRow = await scope.raw({ ttl: QUIET_TTL });
      await settlesWithin(inRow.close(), limit, 'the first close()');
      await expect(inRow.close(), 'a second close() rejected').resolves.toBeUndefined();
      const atOnce = await scope.raw({ ttl: QUIET_TTL });
      const both = Promise.all([atOnce.close(), atOnce.close()]);
      await settlesWithin(both, limit, 'two close() calls at once');
      await expect(both, 'one of two close() calls at once rejected').resolves.toBeDefined();
      // Core closes a backend whose open() failed or never ran (rule 14 of docs/guarantees.md).
      const never = suite.options.createBackend({ namespace: scope.namespace });
      await settlesWithin(never.close(), limit, 'close() of a backend never opened');
      await expect(never.close(), 'close() of a backend never opened rejected').resolves.toBeUndefined();
    });

    it(T.openTwice, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const backend = await scope.raw({ ttl: QUIET_TTL });
      const again = backend.open({ ttl: QUIET_TTL, logger: captureLogger() });
      const error = await again.then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error, 'a second open() of the same backend resolved').toBeDefined();
      expect(
        InvalidOptionsError.isInstance(error),
        `a second open() rejected ${String(error)}, not InvalidOptionsError (ERR_INVALID_OPTIONS)`,
      ).toBe(true);
      // The refused second open() must not have closed or reset the first one.
      const revision = await mustPut(backend, 'open-twice-1');
      expect(
        (await backend.get('open-twice-1'))?.revision,
        'the backend no longer works after a second open()',
      ).toBe(revision);
    });

    it(T.invalidCursor, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const backend = await scope.raw({ ttl: QUIET_TTL });
      // The backend's own cursor works (a sanity check of the case itself).
      const { feed } = await Feed.from(backend, onTestFinished);
      for (const cursor of FOREIGN_CURSORS) {
        let thrown: unknown;
        try {
          const watch = backend.watch(cursor, () => {});
          scope.defer(() => watch.stop());
        } catch (error) {
          thrown = error;
        }
        expect(thrown, `watch(${JSON.stringify(cursor)}) did not throw`).toBeDefined();
        expect(
          InvalidOptionsError.isInstance(thrown),
          `watch(${JSON.stringify(cursor)}) threw ${String(thrown)}${
            DiscoveryError.isInstance(thrown) ? ` (${thrown.code})` : ''
          }, not InvalidOptionsError (ERR_INVALID_OPTIONS)`,
        ).toBe(true);
      }
      const revision = await mustPut(backend, 'cursor-1');
      await feed.untilPut('cursor-1', revision, 'a watch from list()’s own cursor missed a put');
    });

    it(T.deleteIfAbsent, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const { feed } = await Feed.from(reader, onTestFinished);
      const value = recordBytes('absent-1', 1);
      const current = await mustPut(writer, 'absent-1', value);
      // "Only if the key is absent": when it is present the condition fails; when it is absent
      // there is nothing to delete. Either way nothing is deleted.
      expect(
        await writer.delete('absent-1', { expectedRevision: null }),
        'delete(key, { expectedRevision: null }) of a present key resolved true',
      ).toBe(false);
      expect(
        await writer.delete('absent-never', { expectedRevision: null }),
        'delete(key, { expectedRevision: null }) of an absent key resolved true',
      ).toBe(false);
      const stored = await reader.get('absent-1');
      expect(stored?.revision, 'delete with expectedRevision null removed or changed the key').toBe(current);
      const sentinel = await mustPut(writer, 'absent-sentinel');
      await feed.untilPut('absent-sentinel', sentinel, 'the feed never delivered the sentinel put');
      expect(
        feed.changes.filter((c) => c.type === 'delete').map(describeChange),
        'delete with expectedRevision null must send nothing through the feed',
      ).toEqual([]);
    });
  });
}
