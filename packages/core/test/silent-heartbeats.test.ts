import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import type { NodeInfo } from '../src/types/node-info.js';
import { record, short, storeBackend, TestStore } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

const TTL = 3_000;

describe('issue 11: supports.silentHeartbeats', () => {
  for (const nativeExpiryEvents of [true, false]) {
    it(`lastSeen is exact on the owner, the last written elsewhere; nothing expires while beating (native expiry events: ${nativeExpiryEvents})`, async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const store = new TestStore();
      const capabilities = { silentHeartbeats: true, nativeExpiryEvents };
      const lost: string[] = [];
      const owner = await createDiscovery({
        backend: storeBackend(store, capabilities),
        ttl: TTL,
        onOwnNodeLost: (node: NodeInfo, reason) => lost.push(`${node.id}:${reason}`),
      });
      const other = await createDiscovery({ backend: storeBackend(store, capabilities), ttl: TTL });
      try {
        const registered = await owner.register({ id: 'x', load: 1 });
        await vi.advanceTimersByTimeAsync(0);
        const ownerEvents = record(owner);
        const otherEvents = record(other);
        expect(other.get('x')?.lastSeen).toBe(registered.lastSeen);
        const revision = store.revision;
        await vi.advanceTimersByTimeAsync(700);
        await owner.heartbeat('x');
        // The silent put resolved with the unchanged revision: no conflict, the owner shows the new lastSeen.
        expect(store.revision).toBe(revision);
        expect(owner.get('x')?.lastSeen).toBe(Date.now());
        expect(other.get('x')?.lastSeen).toBe(registered.lastSeen);
        const getsBefore = store.gets;
        // Auto heartbeats keep it alive for 10 ttls without a single write or event.
        await vi.advanceTimersByTimeAsync(10 * TTL);
        expect(store.revision).toBe(revision);
        expect(lost).toEqual([]);
        expect(ownerEvents.map(short)).toEqual([]);
        expect(otherEvents.map(short)).toEqual([]);
        expect(other.get('x')?.instanceId).toBe(registered.instanceId);
        const ownerView = owner.get('x')!;
        expect(Date.now() - ownerView.lastSeen).toBeLessThanOrEqual(1_100);
        // A sweeper that cannot see heartbeats polls, but no faster than twice per max(1 s, ttl/4).
        const gets = store.gets - getsBefore;
        expect(gets).toBeLessThanOrEqual(nativeExpiryEvents ? 0 : (10 * TTL) / 500 + 2);
        // A load change is a real write: other instances see it, with its lastSeen.
        await owner.heartbeat('x', 4);
        await vi.advanceTimersByTimeAsync(0);
        expect(other.get('x')?.load).toBe(4);
        expect(other.get('x')?.lastSeen).toBe(owner.get('x')?.lastSeen);
        expect(otherEvents.map(short)).toEqual(['updated:x']);
        // The owner stops: it expires at the other instance within the bound.
        await owner.close({ unregister: false });
        const stoppedAt = Date.now();
        while (!otherEvents.some((e) => e.type === 'left')) await vi.advanceTimersByTimeAsync(50);
        expect(otherEvents.map(short)).toEqual(['updated:x', 'left:x:expired']);
        expect(Date.now() - stoppedAt).toBeLessThanOrEqual(TTL + 1_000);
      } finally {
        await owner.close();
        await other.close();
      }
    });
  }

  it('a resync on the owner keeps the exact lastSeen of its silent heartbeats', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new TestStore();
    const backend = storeBackend(store, { silentHeartbeats: true });
    let feed: Parameters<typeof backend.watch>[1] | undefined;
    const watch = backend.watch.bind(backend);
    backend.watch = (cursor, onChange) => {
      feed = onChange;
      return watch(cursor, onChange);
    };
    const owner = await createDiscovery({ backend, ttl: TTL, autoHeartbeat: false });
    try {
      await owner.register({ id: 'x' });
      await vi.advanceTimersByTimeAsync(500);
      await owner.heartbeat('x');
      const lastSeen = Date.now();
      feed!({ type: 'resync', reason: 'test' });
      await vi.advanceTimersByTimeAsync(10);
      expect(owner.get('x')?.lastSeen).toBe(lastSeen);
    } finally {
      await owner.close();
    }
  });
});

describe('history with plain heartbeats kept by the backend', () => {
  it('asks for more than limit and collapses runs that differ only in lastSeen', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const store = new TestStore();
    const owner = await createDiscovery({
      backend: storeBackend(store, { history: true }),
      ttl: TTL,
      autoHeartbeat: false,
    });
    try {
      for (const load of [1, 2, 3]) {
        await owner.register({ id: 'x', load });
        for (let beat = 0; beat < 12; beat++) {
          await vi.advanceTimersByTimeAsync(10);
          await owner.heartbeat('x');
        }
      }
      expect(store.history.get('x')).toHaveLength(39);
      const states = await owner.history('x', 3);
      expect(states.map((s) => s.load)).toEqual([3, 2, 1]);
      expect(states[0]!.lastSeen).toBe(owner.get('x')!.lastSeen);
      expect((await owner.history('x', 2)).map((s) => s.load)).toEqual([3, 2]);
      expect((await owner.history('x', 10)).map((s) => s.load)).toEqual([3, 2, 1]);
    } finally {
      await owner.close();
    }
  });
});
