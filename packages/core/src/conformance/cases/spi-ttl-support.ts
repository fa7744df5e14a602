// The ttl cases' measuring kit: is a key there before its ttl, gone within the bound, and was the
// schedule kept (a loaded machine makes a measurement inconclusive, never a pass or a false fail).
import type { ExpectStatic } from 'vitest';
import type { BackendEntry, DiscoveryBackend } from '../../spi/discovery-backend.js';
import { expiryGraceFor, sleepUntil } from '../harness.js';
import { type Feed, goneBy } from './spi-support.js';

/** How long before its ttl a key is checked to be still there. */
export const BEFORE_TTL = 300;
/** Timer granularity: a key gone this close to its ttl did not expire early. */
export const EARLY_SLACK = 25;

/**
 * Reads `key`, written no earlier than `since`, and says whether it is still there. Absent is a
 * failure only when the answer came before the ttl ran out; an answer that came later (the event
 * loop was late on a loaded machine) proves nothing, and the case stops as inconclusive.
 */
export async function stillThere(
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
export function onSchedule(key: string, previous: number, completed: number, ttl: number): void {
  if (completed >= previous + ttl - EARLY_SLACK)
    throw new Error(
      `inconclusive: a renewal of ${key} completed ${completed - previous} ms after the previous write (ttl ${ttl} ms): the machine is too loaded to keep the case's schedule`,
    );
}

export function ttlLabel(ttl: number): string {
  return Number.isInteger(ttl) ? String(ttl) : ttl.toFixed(2);
}

/**
 * Checks that `key`, last written between `before` and `after`, is there shortly before its
 * ttl and gone (get() and, with native expiry events, the feed) within the bound.
 */
export async function expiresWithinBound(
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
export async function untilConclusive(measure: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await measure();
    } catch (error) {
      const inconclusive = error instanceof Error && error.message.startsWith('inconclusive:');
      if (!inconclusive || attempt >= 3) throw error;
    }
  }
}
