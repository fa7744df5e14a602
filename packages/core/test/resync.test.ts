import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { LocalView } from '../src/local-view.js';
import type { BackendChange } from '../src/spi/discovery-backend.js';
import type { NodeChangeEvent } from '../src/types/node-change-event.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace, node, record, settle, short, wrapBackend } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('rule 17: a re-list never moves the view backwards', () => {
  it('keeps what changed in the view after the list began, when it is newer than the snapshot', () => {
    const events: NodeChangeEvent[] = [];
    const view = new LocalView((e) => events.push(e), 10_000);
    view.applyPut(node('a', { load: 1 }), 1, 0);
    view.applyPut(node('gone'), 2, 0);
    view.applyPut(node('del', { instanceId: 'i9' }), 3, 0);
    view.beginList();
    // While the list is under way: an own write of a, a new node b, an own delete of del.
    view.applyPut(node('a', { load: 2 }), 7, 0);
    view.applyPut(node('b'), 8, 0);
    view.applyDelete('del', undefined, 'unregistered', 0);
    events.length = 0;
    const result = view.reconcile(
      [
        { node: node('a', { load: 1 }), revision: 1 },
        { node: node('del', { instanceId: 'i9' }), revision: 3 },
      ],
      0,
    );
    expect(events.map(short)).toEqual(['left:gone:expired']);
    expect(view.entry('a')?.node.load).toBe(2);
    expect(view.entry('b')).toBeDefined();
    expect(view.entry('del')).toBeUndefined();
    // b is missing from the snapshot: kept, but the caller must confirm it with a read.
    expect(result.unconfirmed).toEqual(['b']);
  });

  it('still takes the snapshot for entries nobody touched during the list, older revisions included', () => {
    const events: NodeChangeEvent[] = [];
    const view = new LocalView((e) => events.push(e), 10_000);
    view.applyPut(node('a', { load: 1 }), 50, 0);
    view.beginList();
    events.length = 0;
    // A store that lost its data and counts from 1 again: the snapshot is the truth.
    view.reconcile([{ node: node('a', { load: 3, instanceId: 'i2' }), revision: 2 }], 20_000);
    expect(events.map(short)).toEqual(['left:a:expired', 'joined:a']);
    expect(view.entry('a')?.revision).toBe(2);
  });

  it('a slow re-list does not undo own writes that landed meanwhile (no false left, no load regression)', async () => {
    const inner = mapBackend({ namespace: freshNamespace('r17') });
    let gate: Promise<void> | undefined;
    let lists = 0;
    let watches = 0;
    let feed: ((change: BackendChange) => void) | undefined;
    const backend = wrapBackend(inner, {
      async list() {
        lists += 1;
        const snapshot = await inner.list();
        // The snapshot is taken now and answered late: writes meanwhile are newer than it.
        if (gate) await gate;
        return snapshot;
      },
      watch(cursor, onChange) {
        watches += 1;
        feed = onChange;
        return inner.watch(cursor, onChange);
      },
    });
    const discovery = await createDiscovery({ backend, ttl: 10_000, autoHeartbeat: false });
    try {
      await discovery.register({ id: 'a', load: 1 });
      await discovery.register({ id: 'c', load: 1 });
      const events = record(discovery);
      await settle();
      let release!: () => void;
      gate = new Promise((resolve) => {
        release = resolve;
      });
      feed!({ type: 'resync', reason: 'test: continuity lost' });
      await vi.waitFor(() => expect(lists).toBe(2));
      await discovery.heartbeat('a', 2);
      await discovery.register({ id: 'b', load: 5 });
      release();
      await vi.waitFor(() => expect(watches).toBe(2));
      await settle();
      await settle();
      expect(events.map(short)).toEqual(['updated:a', 'joined:b']);
      expect(discovery.get('a')?.load).toBe(2);
      expect(discovery.get('b')?.load).toBe(5);
      expect(discovery.list().map((n) => n.id)).toEqual(['a', 'b', 'c']);
    } finally {
      await discovery.close();
    }
  });
});

describe('rule 15: a feed that keeps failing is retried with backoff', () => {
  function failingFeed(mode: 'resync' | 'throw') {
    const inner = mapBackend({ namespace: freshNamespace('r15') });
    const counts = { lists: 0, watches: 0 };
    const control = { broken: false, feed: undefined as ((change: BackendChange) => void) | undefined };
    const backend = wrapBackend(inner, {
      async list() {
        counts.lists += 1;
        // A fast server: 1 ms per list, so a loop without backoff makes ~1,000 lists per second.
        await new Promise((resolve) => setTimeout(resolve, 1));
        return inner.list();
      },
      watch(cursor, onChange) {
        counts.watches += 1;
        if (control.broken && mode === 'throw') throw new Error('test: the feed cannot start');
        control.feed = onChange;
        const watch = inner.watch(cursor, onChange);
        if (control.broken) queueMicrotask(() => onChange({ type: 'resync', reason: 'test: feed failed' }));
        return watch;
      },
    });
    return { backend, counts, control };
  }

  for (const mode of ['resync', 'throw'] as const) {
    it(`a feed that ${mode === 'resync' ? 'asks for a resync at once' : 'cannot start'} gets a few lists per second at most`, async () => {
      vi.useFakeTimers({ now: 1_000_000 });
      const { backend, counts, control } = failingFeed(mode);
      const opening = createDiscovery({ backend, ttl: 10_000, autoHeartbeat: false });
      await vi.advanceTimersByTimeAsync(10);
      const discovery = await opening;
      try {
        control.broken = true;
        control.feed!({ type: 'resync', reason: 'test: continuity lost' });
        const before = counts.lists;
        await vi.advanceTimersByTimeAsync(5_000);
        const firstFive = counts.lists - before;
        expect(firstFive).toBeGreaterThanOrEqual(3); // it does retry
        expect(firstFive).toBeLessThanOrEqual(8);
        const mid = counts.lists;
        await vi.advanceTimersByTimeAsync(20_000);
        // Capped at 5 s (jittered down to 2.5 s): at most 8 attempts in 20 s.
        expect(counts.lists - mid).toBeLessThanOrEqual(8);
        expect(counts.lists - mid).toBeGreaterThanOrEqual(3);
        // Healthy again: once the feed has run normally for a while, a resync is immediate.
        control.broken = false;
        await vi.advanceTimersByTimeAsync(6_000);
        await vi.advanceTimersByTimeAsync(30_000);
        const healthy = counts.lists;
        control.feed!({ type: 'resync', reason: 'test: one drop' });
        await vi.advanceTimersByTimeAsync(10);
        expect(counts.lists).toBe(healthy + 1);
      } finally {
        const closing = discovery.close();
        await vi.advanceTimersByTimeAsync(1_000);
        await closing;
      }
    });
  }
});
