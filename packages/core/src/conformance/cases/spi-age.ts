// The optional `age` of list() entries: when a backend gives it, core times the expiry of a listed
// key from it (rule 16 of docs/guarantees.md), so it must be the ms since the key's last write.
import { describe, it } from 'vitest';
import type { SuiteContext } from '../harness.js';
import { sleepUntil } from '../harness.js';
import { mustPut, QUIET_TTL } from './spi-support.js';

/** The titles of the age cases (the gallery names the case meant to catch each mutant). */
export const SPI_AGE_TITLES = {
  age: 'backend: list() entries that carry an age give the ms since the key was last written',
};

/** How long the older key is left alone before the list: ages in seconds or "always 0" show. */
const OLDER_BY = 1_200;
/** Clock resolution and the hop between the server's clock and ours (one machine in tests). */
const AGE_SLACK = 150;

/** `BackendEntry.age`, checked on raw backends that give it (skipped on the others). */
export function spiAgeCases(suite: SuiteContext): void {
  describe.concurrent('backend SPI: keys and records', () => {
    it(SPI_AGE_TITLES.age, async (context) => {
      const { expect, onTestFinished } = context;
      const scope = suite.scope(onTestFinished);
      const writer = await scope.raw({ ttl: QUIET_TTL });
      const reader = await scope.raw({ ttl: QUIET_TTL });
      const old = { started: Date.now(), done: 0 };
      await mustPut(writer, 'age-old');
      old.done = Date.now();
      await sleepUntil(old.done + OLDER_BY);
      const fresh = { started: Date.now(), done: 0 };
      await mustPut(writer, 'age-new');
      fresh.done = Date.now();
      const listStarted = Date.now();
      const { entries } = await reader.list();
      const listDone = Date.now();
      const aged = entries.filter((e) => e.age !== undefined);
      if (aged.length === 0) return context.skip('this backend gives no age in list()');
      for (const entry of aged) {
        const write = entry.key === 'age-old' ? old : fresh;
        // Written between write.started and write.done; listed between listStarted and listDone.
        const least = Math.max(0, listStarted - write.done - AGE_SLACK);
        const most = listDone - write.started + AGE_SLACK;
        expect(
          typeof entry.age === 'number' &&
            Number.isFinite(entry.age) &&
            entry.age >= least &&
            entry.age <= most,
          `list() gave ${entry.key} an age of ${entry.age} ms; it was last written ${listStarted - write.done}–${listDone - write.started} ms before the list (age is ms since the last write, by the server's clock)`,
        ).toBe(true);
      }
    });
  });
}
