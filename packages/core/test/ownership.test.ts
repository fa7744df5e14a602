import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { decodeRecord } from '../src/record-codec.js';
import type { OwnNodeLostReason } from '../src/types/discovery-options.js';
import type { NodeInfo } from '../src/types/node-info.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace, record, short, slowFeed, wrapBackend } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('rule 3: unregister of an owned id is compare-and-set', () => {
  it('never deletes a newer registration written by another instance; the id is just given up', async () => {
    const namespace = freshNamespace('unreg');
    // The owner's feed is slow: it has not yet seen the other instance's registration.
    const owner = await createDiscovery({
      backend: slowFeed(mapBackend({ namespace }), 5_000),
      ttl: 10_000,
      autoHeartbeat: false,
    });
    const other = await createDiscovery({
      backend: mapBackend({ namespace }),
      ttl: 10_000,
      autoHeartbeat: false,
    });
    const raw = mapBackend({ namespace });
    await raw.open({ ttl: 10_000, logger: console });
    try {
      await owner.register({ id: 'x', load: 1 });
      const taken = await other.register({ id: 'x', load: 2 });
      await owner.unregister('x');
      const stored = await raw.get('x');
      expect(stored, 'the other instance’s record must survive').toBeDefined();
      const decoded = decodeRecord('x', stored!.value);
      expect(decoded.ok && decoded.node.instanceId).toBe(taken.instanceId);
      // Given up: a heartbeat of x is no longer this instance's business.
      await expect(owner.heartbeat('x')).rejects.toMatchObject({ code: 'ERR_NOT_REGISTERED' });
    } finally {
      await Promise.all([owner.close({ unregister: false }), other.close()]);
      await raw.close();
    }
  });

  it('deletes its own record (the compare-and-set holds) and everyone sees left unregistered', async () => {
    const namespace = freshNamespace('unreg');
    const owner = await createDiscovery({ backend: mapBackend({ namespace }), ttl: 10_000 });
    const watcher = await createDiscovery({ backend: mapBackend({ namespace }), ttl: 10_000 });
    try {
      await owner.register({ id: 'x' });
      await vi.waitFor(() => expect(watcher.get('x')).toBeDefined());
      const seen = record(watcher);
      const own = record(owner);
      await owner.unregister('x');
      await vi.waitFor(() => expect(seen.map(short)).toEqual(['left:x:unregistered']));
      expect(own.map(short)).toEqual(['left:x:unregistered']);
    } finally {
      await Promise.all([owner.close(), watcher.close()]);
    }
  });
});

describe('rule 3: unregister compare-and-set, the other outcomes', () => {
  it('retries when its own record moved under it (a write whose answer was missed), then deletes it', async () => {
    const inner = mapBackend({ namespace: freshNamespace('unreg') });
    const deletes: (number | null | undefined)[] = [];
    let failFirst = true;
    const backend = wrapBackend(inner, {
      async delete(key, condition) {
        deletes.push(condition?.expectedRevision);
        if (failFirst) {
          failFirst = false;
          // The owner's last heartbeat landed, but its answer never came back: the record is
          // still ours, one revision further than the owner knows.
          const current = await inner.get(key);
          await inner.put(key, current!.value, { expectedRevision: current!.revision });
          return inner.delete(key, condition);
        }
        return inner.delete(key, condition);
      },
    });
    const discovery = await createDiscovery({ backend, ttl: 10_000, autoHeartbeat: false });
    try {
      const events = record(discovery);
      await discovery.register({ id: 'x' });
      await discovery.unregister('x');
      expect(await inner.get('x')).toBeUndefined();
      expect(deletes).toHaveLength(2);
      expect(deletes[1]).toBe(deletes[0]! + 1);
      await vi.waitFor(() => expect(events.map(short)).toEqual(['joined:x', 'left:x:unregistered']));
    } finally {
      await discovery.close();
    }
  });

  it('a record already gone is simply unregistered', async () => {
    const namespace = freshNamespace('unreg');
    const discovery = await createDiscovery({
      backend: slowFeed(mapBackend({ namespace }), 5_000),
      ttl: 10_000,
      autoHeartbeat: false,
    });
    const raw = mapBackend({ namespace });
    await raw.open({ ttl: 10_000, logger: console });
    try {
      await discovery.register({ id: 'x' });
      await raw.delete('x');
      await discovery.unregister('x');
      expect(discovery.get('x')).toBeUndefined();
    } finally {
      await discovery.close();
      await raw.close();
    }
  });
});

describe("rule 3: the owner's leave reason does not depend on its feed arriving first", () => {
  it('another instance unregisters an owned node: the owner sees left unregistered though its heartbeat noticed first', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const namespace = freshNamespace('reason');
    const lost: OwnNodeLostReason[] = [];
    const owner = await createDiscovery({
      backend: slowFeed(mapBackend({ namespace }), 2_000),
      ttl: 3_000,
      autoHeartbeat: false,
      reregister: false,
      onOwnNodeLost: (_node: NodeInfo, reason) => lost.push(reason),
    });
    const other = await createDiscovery({ backend: mapBackend({ namespace }), ttl: 3_000 });
    try {
      await owner.register({ id: 'x' });
      const events = record(owner);
      await vi.advanceTimersByTimeAsync(500);
      await other.unregister('x');
      // The owner's heartbeat finds the record gone long before its slow feed says why.
      const beat = owner.heartbeat('x').catch((error: unknown) => error);
      // The owner waits up to max(1 s, ttl) for its feed to say why; the feed is 2 s late.
      await vi.advanceTimersByTimeAsync(2_100);
      expect(await beat).toMatchObject({ code: 'ERR_NOT_REGISTERED' });
      expect(lost).toEqual(['unregistered']);
      await vi.advanceTimersByTimeAsync(3_000); // later feed changes: no second event
      expect(events.map(short)).toEqual(['left:x:unregistered']);
    } finally {
      const closing = Promise.all([owner.close(), other.close()]);
      await vi.advanceTimersByTimeAsync(100);
      await closing;
    }
  });

  it('a record gone without the feed ever saying why is expired on the owner, even within a ttl of its last write (rule 6)', async () => {
    // As after a failover that lost acknowledged writes: no explicit delete reaches this owner.
    vi.useFakeTimers({ now: 1_000_000 });
    const namespace = freshNamespace('reason');
    const lost: OwnNodeLostReason[] = [];
    const inner = mapBackend({ namespace });
    const silentDeletes = wrapBackend(inner, {
      watch: (cursor, onChange) => inner.watch(cursor, (c) => c.type !== 'delete' && onChange(c)),
    });
    const owner = await createDiscovery({
      backend: silentDeletes,
      ttl: 3_000,
      autoHeartbeat: false,
      reregister: false,
      onOwnNodeLost: (_node: NodeInfo, reason) => lost.push(reason),
    });
    const other = await createDiscovery({ backend: mapBackend({ namespace }), ttl: 3_000 });
    try {
      await owner.register({ id: 'x' });
      const events = record(owner);
      await vi.advanceTimersByTimeAsync(500);
      await other.unregister('x');
      const beat = owner.heartbeat('x').catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(3_100); // max(1 s, ttl) of waiting for the feed, in vain
      expect(await beat).toMatchObject({ code: 'ERR_NOT_REGISTERED' });
      expect(lost).toEqual(['expired']);
      expect(events.map(short)).toEqual(['left:x:expired']);
    } finally {
      const closing = Promise.all([owner.close(), other.close()]);
      await vi.advanceTimersByTimeAsync(100);
      await closing;
    }
  });

  it('a node that really expired is still expired on the owner, with the feed slow too', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const namespace = freshNamespace('reason');
    const lost: OwnNodeLostReason[] = [];
    const owner = await createDiscovery({
      backend: slowFeed(mapBackend({ namespace }), 20_000),
      ttl: 3_000,
      autoHeartbeat: false,
      reregister: false,
      onOwnNodeLost: (_node: NodeInfo, reason) => lost.push(reason),
    });
    try {
      await owner.register({ id: 'x' });
      const events = record(owner);
      await vi.advanceTimersByTimeAsync(4_000); // past the ttl without a heartbeat: the store expired it
      const beat = owner.heartbeat('x').catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(5_000);
      expect(await beat).toMatchObject({ code: 'ERR_NOT_REGISTERED' });
      expect(lost).toEqual(['expired']);
      expect(events.map(short)).toEqual(['left:x:expired']);
    } finally {
      const closing = owner.close();
      await vi.advanceTimersByTimeAsync(30_000);
      await closing;
    }
  });
});

describe('a write that landed but whose answer was lost', () => {
  it('is adopted with its content: the owner shows what the store holds, as every other instance does', async () => {
    // Found by the chaos run on a 3-member etcd cluster (seed 1202): a re-register landed during a
    // failover, its call rejected; the owner adopted the new revision but kept the old content, and
    // silent heartbeats (etcd's keep-alives) never rewrote it, so the owner and the others disagreed.
    const namespace = freshNamespace('ambiguous');
    const inner = mapBackend({ namespace });
    let failNextPut = false;
    const backend = wrapBackend(inner, {
      supports: { ...inner.supports, silentHeartbeats: true },
      async put(key, value, options = {}) {
        if (options.refreshOnly && typeof options.expectedRevision === 'number') {
          const current = await inner.get(key);
          if (!current || current.revision !== options.expectedRevision) return { ok: false };
          return { ok: true, revision: current.revision };
        }
        const result = await inner.put(key, value, options);
        if (failNextPut) {
          failNextPut = false;
          throw new Error('connection dropped: the write landed, the answer was lost');
        }
        return result;
      },
    });
    const owner = await createDiscovery({ backend, ttl: 10_000, autoHeartbeat: false });
    const other = await createDiscovery({
      backend: mapBackend({ namespace }),
      ttl: 10_000,
      autoHeartbeat: false,
    });
    try {
      await owner.register({ id: 'x', load: 1, metadata: { v: '1' } });
      failNextPut = true;
      await expect(owner.register({ id: 'x', load: 2, metadata: { v: '2' } })).rejects.toThrow(
        /answer was lost/,
      );
      await owner.heartbeat('x');
      await vi.waitFor(() => expect(other.get('x')?.metadata).toEqual({ v: '2' }), { timeout: 2_000 });
      expect(owner.get('x')?.metadata).toEqual({ v: '2' });
      expect(owner.get('x')?.load).toBe(other.get('x')?.load);
    } finally {
      await owner.close({ unregister: false });
      await other.close({ unregister: false });
    }
  });
});
