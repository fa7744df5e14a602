import { describe, it } from 'vitest';
import { encodeRecord } from '../../record-codec.js';
import { expiryGraceFor, type Scope, type SuiteContext, WAIT_LIMIT, waitFor } from '../harness.js';

/** A `left` a few ms before the ttl is timer granularity, not an early expiry. */
const EARLY_SLACK = 5;

/**
 * The ttls rule 18 of docs/guarantees.md names: whole seconds above 2 s, and fractional ones
 * (a store that rounds 1 100 ms to 2 s, or 3 333⅓ ms to 4 s, breaks rule 4's bound).
 */
export const EXTRA_TTLS = [1_100, 10_000 / 3, 3_500];

/** What one ttl's run measured: the problems found (empty when the bound held). */
async function expiryAt(scope: Scope, exactTtl: number): Promise<string[]> {
  const grace = Math.round(expiryGraceFor(exactTtl));
  // For the messages: 3 333⅓ ms reads as 3333 ms.
  const ttl = Math.round(exactTtl);
  const id = `ttl-${Math.round(ttl)}`;
  const watcher = await scope.open({ ttl: exactTtl });
  const owner = await scope.open({ ttl: exactTtl, autoHeartbeat: false });
  const watch = scope.record(watcher);
  await owner.register({ id });
  await watch.joined(id, WAIT_LIMIT, 0, `at ttl ${ttl} ms the feed never reported the put of ${id}`);
  const before = Date.now();
  await owner.heartbeat(id);
  const after = Date.now();
  await owner.close({ unregister: false });
  const left = await watch.left(
    id,
    exactTtl + grace + 5_000,
    0,
    `at ttl ${ttl} ms the store never expired ${id} (a put must give the key exactly the namespace's ttl, fractions of a second included)`,
  );
  const problems: string[] = [];
  const event = left.event;
  if (event.type !== 'left' || event.reason !== 'expired')
    problems.push(
      `at ttl ${ttl} ms ${id} left ${event.type === 'left' ? event.reason : event.type}, not expired`,
    );
  if (left.at - before < exactTtl - EARLY_SLACK)
    problems.push(
      `at ttl ${ttl} ms ${id} left ${left.at - before} ms after its last heartbeat: before the ttl ran out`,
    );
  if (left.at - after > exactTtl + expiryGraceFor(exactTtl))
    problems.push(
      `at ttl ${ttl} ms ${id} left ${left.at - after} ms after its last heartbeat: later than ttl + max(1 s, ttl / 4) = ${ttl + grace} ms`,
    );
  return problems;
}

/** Rules 4, 16 and 18: the expiry bound at any ttl, whatever the owner's clock says. */
export function ttlCases(suite: SuiteContext): void {
  const ttls = [...new Set([suite.ttl, ...EXTRA_TTLS])];
  const longest = Math.max(...ttls);

  describe.concurrent('ttl', () => {
    it(
      'ttl: at ttls of 1 100, 3 333⅓ and 3 500 ms (and the suite’s) a silent node expires within [ttl, ttl + max(1 s, ttl/4)]',
      async ({ expect, onTestFinished }) => {
        const scope = suite.scope(onTestFinished);
        // One namespace per ttl (a namespace has one ttl); all at once, so the case takes the longest one.
        const results = await Promise.allSettled(ttls.map((ttl) => expiryAt(scope.sibling(), ttl)));
        const problems = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : [String(r.reason)]));
        expect(problems, 'rule 4 at every ttl (rule 18)').toEqual([]);
      },
      suite.caseTimeout(longest),
    );

    it('clocks: records whose lastSeen is a minute ahead or behind still expire within the bound at every watcher', async ({
      expect,
      onTestFinished,
    }) => {
      const scope = suite.scope(onTestFinished);
      const early = await scope.open();
      const earlyWatch = scope.record(early);
      const raw = await scope.raw();
      // An owner whose clock is a minute off writes its own registeredAt and lastSeen; nothing refreshes them.
      const skews = { ahead: 60_000, behind: -60_000 };
      const putStart = Date.now();
      for (const [name, skew] of Object.entries(skews)) {
        const ownerNow = Date.now() + skew;
        const value = encodeRecord({
          id: `skew-${name}`,
          metadata: {},
          load: 0,
          instanceId: `skewed-${name}`,
          registeredAt: ownerNow,
          lastSeen: ownerNow,
        });
        const put = await raw.put(`skew-${name}`, value);
        expect(put.ok, `put of skew-${name}`).toBe(true);
      }
      const putEnd = Date.now();
      // A watcher that learns of the records from its first list, not from the feed.
      const late = await scope.open();
      const lateWatch = scope.record(late);
      for (const [label, watch] of [
        ['a watcher open before the writes', earlyWatch],
        ['a watcher opened after them', lateWatch],
      ] as const) {
        for (const name of Object.keys(skews)) {
          const id = `skew-${name}`;
          await watch.joined(
            id,
            WAIT_LIMIT,
            0,
            `${label} never showed ${id} (a live record is a member, whatever its lastSeen)`,
          );
          const left = await watch.left(
            id,
            suite.expiryWait,
            0,
            `${label} never saw ${id} expire (expiry must be timed by the server or the observer, not by lastSeen)`,
          );
          expect(left.event, `${label}: ${id}`).toMatchObject({ type: 'left', reason: 'expired' });
          expect(left.at - putStart, `${label}: ${id} left before the ttl ran out`).toBeGreaterThanOrEqual(
            suite.ttl - EARLY_SLACK,
          );
          expect(
            left.at - putEnd,
            `${label}: ${id} left later than ttl + max(1 s, ttl / 4) after it was written`,
          ).toBeLessThanOrEqual(suite.ttl + suite.expiryGrace);
        }
      }
      await waitFor('the raw records gone', async () => (await raw.list()).entries.length === 0);
    });
  });
}
