import { describe, it } from 'vitest';
import type { DiscoveryBackend } from '../../spi/discovery-backend.js';
import { assertValidNamespace } from '../../validation.js';
import { captureLogger, type SuiteContext } from '../harness.js';
import { bytesDiffer, describeChange, Feed, mustPut, QUIET_TTL, recordBytes } from './spi-support.js';

/** The titles of the namespace cases (the gallery names the case meant to catch each mutant). */
export const SPI_NAMESPACE_TITLES = {
  configMismatch: 'backend: opening a namespace with another ttl rejects ConfigMismatchError',
  lookalike:
    'backend: namespaces that look alike (N, Nx, N-1, N_1) see only their own keys, in list() and the feed',
};

/** Namespaces a prefix match or a separator mix-up would confuse with `base`, where allowed. */
export function lookalikeNamespaces(base: string): string[] {
  return [base, `${base}x`, `${base}-1`, `${base}_1`, `${base}.1`, `${base}1`].filter((name) => {
    try {
      assertValidNamespace(name);
      return true;
    } catch {
      return false;
    }
  });
}

/** Opening and isolating namespaces, checked on raw backends. */
export function spiNamespaceCases(suite: SuiteContext): void {
  const T = SPI_NAMESPACE_TITLES;

  describe.concurrent('backend SPI: namespaces', () => {
    it(T.configMismatch, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      // A long ttl: the key written below must outlive the slowest opens.
      const ttl = QUIET_TTL;
      const first = await scope.raw({ ttl });
      /** What opening this namespace with `ttl` did: undefined when it resolved. */
      const openWith = async (otherTtl: number): Promise<unknown> => {
        const other: DiscoveryBackend = suite.options.createBackend({ namespace: scope.namespace });
        try {
          await other.open({ ttl: otherTtl, logger: captureLogger() });
          return undefined;
        } catch (error) {
          return error;
        } finally {
          await other.close().catch(() => {});
        }
      };
      const check = async (otherTtl: number, when: string) => {
        const error = await openWith(otherTtl);
        expect(
          error,
          `open() with ttl ${otherTtl} ms of a namespace ${when} with ttl ${ttl} ms resolved: it must reject ConfigMismatchError`,
        ).toBeDefined();
        expect(
          error,
          `open() with ttl ${otherTtl} ms of a namespace ${when} with ttl ${ttl} ms must reject ConfigMismatchError (code ERR_CONFIG_MISMATCH), got ${String(error)}`,
        ).toMatchObject({ name: 'ConfigMismatchError', code: 'ERR_CONFIG_MISMATCH' });
      };
      await check(ttl * 2, 'just created');
      await mustPut(first, 'cfg-1');
      await check(ttl + 500, 'holding a key');
      // The refusal changed nothing: the namespace keeps its ttl and its key, and a backend with
      // the same ttl opens.
      expect(await openWith(ttl), 'open() with the namespace’s own ttl must resolve').toBeUndefined();
      expect(await first.get('cfg-1'), 'a refused open() removed a key').toBeDefined();
    });

    it(T.lookalike, async ({ expect, onTestFinished }) => {
      const scope = suite.scope(onTestFinished);
      const names = lookalikeNamespaces(scope.namespace);
      const backends = await Promise.all(names.map((namespace) => scope.raw({ namespace, ttl: QUIET_TTL })));
      const feeds = await Promise.all(backends.map(async (b) => (await Feed.from(b, onTestFinished)).feed));
      // Two keys every namespace holds: a plain one and one with a dot (a subject token, a path
      // segment): a backend that maps some key shapes outside the namespace shows it on the second.
      const sharedKeys = ['shared', 'shared.1'];
      const values = names.map((_, i) => sharedKeys.map((key) => recordBytes(key, i)));
      const written: { own: number; shared: number[] }[] = [];
      for (const [i, b] of backends.entries()) {
        const own = await mustPut(b, `own-${i}`);
        const shared: number[] = [];
        for (const [k, key] of sharedKeys.entries()) shared.push(await mustPut(b, key, values[i]![k]));
        written.push({ own, shared });
      }
      // The same keys deleted in the first namespace only.
      for (const key of sharedKeys)
        expect(await backends[0]!.delete(key), `delete of ${key} in ${names[0]}`).toBe(true);
      const sentinels = await Promise.all(backends.map((b) => mustPut(b, 'ns-sentinel')));
      for (const [i, feed] of feeds.entries())
        await feed.untilPut(
          'ns-sentinel',
          sentinels[i]!,
          `the feed of namespace ${names[i]} never delivered its sentinel`,
        );

      for (const [i, b] of backends.entries()) {
        const name = names[i]!;
        const expected = [`own-${i}`, ...(i === 0 ? [] : sharedKeys), 'ns-sentinel'].sort();
        const listed = (await b.list()).entries.map((e) => e.key).sort();
        expect(
          listed,
          `list() of namespace ${name} must show only its own keys (others: ${names.join(', ')})`,
        ).toEqual(expected);
        for (const [k, key] of sharedKeys.entries()) {
          const own = await b.get(key);
          if (i === 0) expect(own, `deleting ${key} in ${name} left it there`).toBeUndefined();
          else {
            expect(own, `deleting ${key} in ${names[0]} deleted it in ${name}`).toBeDefined();
            expect(own!.revision, `get(${key}) in ${name} returned another namespace's revision`).toBe(
              written[i]!.shared[k],
            );
            expect(
              bytesDiffer(own!.value, values[i]![k]),
              `get(${key}) in ${name} returned another namespace's value`,
            ).toBeUndefined();
          }
        }
        const want = [
          `put:own-${i}@${written[i]!.own}`,
          ...sharedKeys.map((key, k) => `put:${key}@${written[i]!.shared[k]}`),
          ...(i === 0 ? sharedKeys.map((key) => `delete:${key}`) : []),
          `put:ns-sentinel@${sentinels[i]}`,
        ];
        expect(
          feeds[i]!.changes.map((c) => (c.type === 'delete' ? `delete:${c.key}` : describeChange(c))),
          `the feed of namespace ${name} must carry only its own changes (others: ${names.join(', ')})`,
        ).toEqual(want);
      }
    });
  });
}
