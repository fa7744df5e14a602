import { describe, it } from 'vitest';
import type { DiscoveryBackend, NamespaceInspection } from '../../spi/discovery-backend.js';
import { captureLogger, type SuiteContext } from '../harness.js';
import { Feed, mustPut } from './spi-support.js';

/** The titles of the `inspect()` cases (the gallery names the case meant to catch each mutant). */
export const SPI_INSPECT_TITLES = {
  absent: 'backend: inspect() of an absent namespace says it does not exist and creates nothing',
  existing: 'backend: inspect() of an existing namespace reports its ttl and changes nothing',
};

/**
 * A ttl no tool picks by default (core's is 10 s, the suite's quiet one 60 s) and long enough that
 * nothing expires while a case runs: a namespace that `inspect()` created with a default would
 * refuse it.
 */
const ODD_TTL = 61_234;

/**
 * The optional `inspect()`: read-only tools look at a namespace through it, so it must never
 * create one, and must report the ttl that `open()` compares with. Skipped (by name) for a
 * backend without it.
 */
export function spiInspectCases(suite: SuiteContext): void {
  const T = SPI_INSPECT_TITLES;
  const fresh = (namespace: string, onFinished: (fn: () => Promise<void>) => void): DiscoveryBackend => {
    const backend = suite.options.createBackend({ namespace });
    onFinished(() => backend.close().catch(() => {}));
    return backend;
  };

  describe.concurrent('backend SPI: inspect()', () => {
    it(T.absent, async (context) => {
      const { expect, onTestFinished } = context;
      const scope = suite.scope(onTestFinished);
      const first = fresh(scope.namespace, onTestFinished);
      if (typeof first.inspect !== 'function') return context.skip();
      const look = async (backend: DiscoveryBackend, when: string): Promise<NamespaceInspection> => {
        const found = await backend.inspect!();
        expect(found, `inspect() ${when}`).toMatchObject({ exists: false });
        return found;
      };
      await look(first, 'of a namespace nobody opened, before open()');
      // Again from another backend: a first look that created the namespace would show here.
      await look(fresh(scope.namespace, onTestFinished), 'after another inspect() of the absent namespace');
      // A namespace created by the looks, with whatever ttl, would refuse this one.
      let opened: unknown;
      try {
        await first.open({ ttl: ODD_TTL, logger: captureLogger() });
      } catch (error) {
        opened = error;
      }
      expect(
        opened,
        `open() with ttl ${ODD_TTL} ms after inspect() of an absent namespace must resolve on the same backend (inspect() created the namespace, or left the backend unable to open?)`,
      ).toBeUndefined();
      expect((await first.list()).entries, 'the namespace after inspect() and open()').toEqual([]);
      expect(
        await first.inspect!(),
        'inspect() after open() must see the namespace with the ttl it was opened with',
      ).toEqual({ exists: true, ttl: ODD_TTL });
    });

    it(T.existing, async (context) => {
      const { expect, onTestFinished } = context;
      const scope = suite.scope(onTestFinished);
      const looker = fresh(scope.namespace, onTestFinished);
      if (typeof looker.inspect !== 'function') return context.skip();
      const raw = await scope.raw({ ttl: ODD_TTL });
      const revision = await mustPut(raw, 'insp-1');
      const { feed } = await Feed.from(raw, onTestFinished);
      expect(
        await looker.inspect(),
        `inspect() of a namespace opened with ttl ${ODD_TTL} ms (and holding a key)`,
      ).toEqual({ exists: true, ttl: ODD_TTL });
      // Nothing changed: a sentinel written now is the first change the feed sees.
      const sentinel = await mustPut(raw, 'insp-sentinel');
      await feed.untilPut('insp-sentinel', sentinel, 'the feed never delivered the sentinel');
      expect(feed.summary(), 'inspect() must write nothing to the namespace').toEqual([
        `put:insp-sentinel@${sentinel}`,
      ]);
      expect((await raw.get('insp-1'))?.revision, 'inspect() changed a key').toBe(revision);
      // The backend that looked opens with the reported ttl and sees the key.
      await looker.open({ ttl: ODD_TTL, logger: captureLogger() });
      expect((await looker.get('insp-1'))?.revision, 'get() after inspect() then open()').toBe(revision);
      await looker.close();
      await expect(
        looker.inspect(),
        'inspect() after close() must reject DiscoveryClosedError (code ERR_CLOSED)',
      ).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    });
  });
}
