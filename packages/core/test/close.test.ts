import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { BackendUnavailableError } from '../src/errors.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace, wrapBackend } from './support/backends.js';

afterEach(() => {
  vi.useRealTimers();
});

const never = () => new Promise<never>(() => {});

describe('rule 14: close() always finishes and leaves nothing behind', () => {
  it('finishes when the backend’s delete, stop and close never answer, within the documented bound', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const inner = mapBackend({ namespace: freshNamespace('close') });
    const backend = wrapBackend(inner, {
      delete: never,
      close: never,
      watch(cursor, onChange) {
        const watch = inner.watch(cursor, onChange);
        return { stop: () => watch.stop().then(never) };
      },
    });
    const discovery = await createDiscovery({ backend, ttl: 10_000 });
    await discovery.register({ id: 'a' });
    await discovery.register({ id: 'b' });
    let closed = false;
    const closing = discovery.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(14_000);
    expect(closed).toBe(false); // it did wait for the backend, as long as a request may take
    await vi.advanceTimersByTimeAsync(1_100);
    expect(closed).toBe(true);
    await closing;
    await expect(discovery.register({ id: 'c' })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    // The records are left to expire in the Map store; once they have, no timer is left at all.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a failed open() rejects even when the backend’s close() hangs, and leaves no timer', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const inner = mapBackend({ namespace: freshNamespace('close') });
    const backend = wrapBackend(inner, {
      list: () => Promise.reject(new BackendUnavailableError('test: the server went away')),
      close: never,
    });
    let failure: unknown;
    const opening = createDiscovery({ backend, ttl: 10_000 }).catch((error: unknown) => {
      failure = error;
    });
    await vi.advanceTimersByTimeAsync(10_000);
    await opening;
    expect(failure).toBeInstanceOf(BackendUnavailableError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('closing while a resync is backing off ends at once and leaves no timer', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const inner = mapBackend({ namespace: freshNamespace('close') });
    let failing = false;
    let feed: Parameters<typeof inner.watch>[1] | undefined;
    const backend = wrapBackend(inner, {
      async list() {
        if (failing) throw new BackendUnavailableError('test: list fails');
        return inner.list();
      },
      watch(cursor, onChange) {
        feed = onChange;
        return inner.watch(cursor, onChange);
      },
    });
    const discovery = await createDiscovery({ backend, ttl: 10_000, autoHeartbeat: false });
    failing = true;
    feed!({ type: 'resync', reason: 'test' });
    await vi.advanceTimersByTimeAsync(3_000);
    const closing = discovery.close();
    await vi.advanceTimersByTimeAsync(0);
    await closing;
    expect(vi.getTimerCount()).toBe(0);
  });
});
