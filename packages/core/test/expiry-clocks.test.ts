import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { encodeRecord } from '../src/record-codec.js';
import type { NodeChangeEvent } from '../src/types/node-change-event.js';
import { record, short, storeBackend, TestStore } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

const TTL = 3_000;
const BOUND = TTL + Math.max(1_000, TTL / 4);

/** A record as another process would write it, with its owner's clock `skew` ms off. */
function foreignRecord(id: string, skew: number): Uint8Array {
  const now = Date.now() + skew;
  return encodeRecord({
    id,
    metadata: {},
    load: 0,
    instanceId: `owner-of-${id}`,
    registeredAt: now,
    lastSeen: now,
  });
}

async function leftAt(events: NodeChangeEvent[], id: string, limit: number): Promise<number> {
  for (let waited = 0; waited <= limit; waited += 50) {
    if (events.some((e) => e.type === 'left' && e.node.id === id)) return Date.now();
    await vi.advanceTimersByTimeAsync(50);
  }
  throw new Error(`no left for ${id} within ${limit} ms`);
}

describe('rule 16: the expiry sweeper times expiry by the observer’s clock, never by lastSeen', () => {
  for (const skew of [60_000, -60_000]) {
    for (const when of ['listed', 'received'] as const) {
      it(`owner clock ${skew > 0 ? '+' : ''}${skew / 1000} s, record ${when === 'listed' ? 'found by the first list' : 'received through the feed'}: left expired within the bound`, async () => {
        vi.useFakeTimers({ now: 1_000_000 });
        const store = new TestStore();
        const writer = storeBackend(store, { nativeExpiryEvents: false });
        await writer.open({ ttl: TTL, logger: console });
        let observer: Awaited<ReturnType<typeof createDiscovery>> | undefined;
        if (when === 'received')
          observer = await createDiscovery({
            backend: storeBackend(store, { nativeExpiryEvents: false }),
            ttl: TTL,
          });
        // The owner writes twice (a heartbeat), then dies. The observer (if not yet running)
        // starts just before the record would expire: the worst case for a listed record.
        await writer.put('dead', foreignRecord('dead', skew));
        await vi.advanceTimersByTimeAsync(1_000);
        await writer.put('dead', foreignRecord('dead', skew));
        const lastWrite = Date.now();
        await vi.advanceTimersByTimeAsync(TTL - 200);
        observer ??= await createDiscovery({
          backend: storeBackend(store, { nativeExpiryEvents: false }),
          ttl: TTL,
        });
        try {
          const events = record(observer);
          expect(observer.get('dead')).toBeDefined();
          const at = await leftAt(events, 'dead', 2 * BOUND);
          expect(events.map(short)).toEqual(['left:dead:expired']);
          expect(at - lastWrite).toBeGreaterThanOrEqual(TTL);
          expect(at - lastWrite).toBeLessThanOrEqual(BOUND);
        } finally {
          await observer.close();
        }
      });
    }
  }
});

describe('rule 16: a listed record timed by the age the server reports', () => {
  for (const skew of [60_000, -60_000]) {
    it(`owner clock ${skew > 0 ? '+' : ''}${skew / 1000} s: timed from the entry's age, not probed, and left within the bound`, async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const store = new TestStore();
      const aged = () => storeBackend(store, { nativeExpiryEvents: false }, { listAges: true });
      const writer = aged();
      await writer.open({ ttl: TTL, logger: console });
      await writer.put('dead', foreignRecord('dead', skew));
      const lastWrite = Date.now();
      await vi.advanceTimersByTimeAsync(TTL / 3);
      const observer = await createDiscovery({ backend: aged(), ttl: TTL });
      try {
        const events = record(observer);
        const gets = store.gets;
        const at = await leftAt(events, 'dead', 2 * BOUND);
        expect(events.map(short)).toEqual(['left:dead:expired']);
        expect(at - lastWrite).toBeGreaterThanOrEqual(TTL);
        expect(at - lastWrite).toBeLessThanOrEqual(BOUND);
        // Suspected once, at ttl after the write by the server's clock: no probing.
        expect(store.gets - gets).toBe(1);
      } finally {
        await observer.close();
      }
    });
  }
});
