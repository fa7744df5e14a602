import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { InvalidNodeError } from '../src/errors.js';
import { HeartbeatScheduler } from '../src/heartbeat-scheduler.js';
import type { NodeRegistration } from '../src/types/node-registration.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace, wrapBackend } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('registerMany', () => {
  it('validates every registration first: one bad one rejects the batch and nothing is written', async () => {
    const inner = mapBackend({ namespace: freshNamespace('many') });
    let puts = 0;
    const backend = wrapBackend(inner, {
      put(key, value, options) {
        puts += 1;
        return inner.put(key, value, options);
      },
    });
    const discovery = await createDiscovery({ backend, ttl: 10_000 });
    try {
      const batch: NodeRegistration[] = [{ id: 'ok-1' }, { id: 'ok-2' }, { id: 'bad id' }, { id: 'ok-3' }];
      await expect(discovery.registerMany(batch)).rejects.toThrow(InvalidNodeError);
      await expect(discovery.registerMany([{ id: 'a' }, { id: 'b', load: -1 }])).rejects.toThrow(/load/);
      await expect(discovery.registerMany([{ id: 'a' }, { id: 'a' }])).rejects.toThrow(/twice/);
      await expect(
        discovery.registerMany([{ id: 'a' }, { id: 'big', metadata: { blob: 'x'.repeat(17_000) } }]),
      ).rejects.toThrow(/16 KiB/);
      expect(puts).toBe(0);
      expect(discovery.list()).toEqual([]);
    } finally {
      await discovery.close();
    }
  });

  it('registers every node with bounded concurrency and returns them in the order given', async () => {
    const inner = mapBackend({ namespace: freshNamespace('many') });
    let inFlight = 0;
    let peak = 0;
    const backend = wrapBackend(inner, {
      async put(key, value, options) {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1));
        inFlight -= 1;
        return inner.put(key, value, options);
      },
    });
    const discovery = await createDiscovery({ backend, ttl: 10_000 });
    try {
      const batch = Array.from({ length: 500 }, (_, i) => ({ id: `node-${i}`, load: i }));
      const nodes = await discovery.registerMany(batch, { concurrency: 16 });
      expect(nodes.map((n) => n.id)).toEqual(batch.map((b) => b.id));
      expect(nodes.map((n) => n.load)).toEqual(batch.map((b) => b.load));
      expect(discovery.list()).toHaveLength(500);
      expect(peak).toBeLessThanOrEqual(16);
      expect(peak).toBeGreaterThan(1);
      expect((await inner.list()).entries).toHaveLength(500);
      // Owned: a heartbeat of any of them works.
      await discovery.heartbeat('node-499', 1);
      expect(discovery.get('node-499')?.load).toBe(1);
    } finally {
      await discovery.close();
    }
  });
});

describe('heartbeats of many owned nodes', () => {
  it('10,000 owned nodes share one timer, and each still beats about once per interval', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const beats = new Map<string, number>();
    const scheduler = new HeartbeatScheduler(1_000, async (id) => {
      beats.set(id, (beats.get(id) ?? 0) + 1);
    });
    for (let i = 0; i < 10_000; i++) scheduler.start(`n${i}`);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(vi.getTimerCount()).toBe(1);
    // Intervals jittered within ±10 %: 2 s hold 1 or 2 beats of each node, never 0 or 3.
    for (const count of beats.values()) {
      expect(count).toBeGreaterThanOrEqual(1);
      expect(count).toBeLessThanOrEqual(2);
    }
    expect(beats.size).toBe(10_000);
    scheduler.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
