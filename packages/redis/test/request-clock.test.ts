import { BackendUnavailableError } from '@roster/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RequestClock, withinTimeout } from '../src/request-clock.js';

/** A call the test answers by hand, like a command on a frozen (then thawed) server. */
function pendingCall<T>() {
  let answer!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    answer = resolve;
  });
  return { promise, answer };
}

async function settledAfter(call: Promise<unknown>): Promise<{ at: number; error: unknown }> {
  const started = Date.now();
  return call.then(
    () => ({ at: Date.now() - started, error: undefined }),
    (error: unknown) => ({ at: Date.now() - started, error }),
  );
}

describe('request deadlines (rule 14)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('withinTimeout rejects BackendUnavailableError after the timeout and leaves no timer once settled', async () => {
    const late = settledAfter(withinTimeout(new Promise(() => {}), 1_000, 'reading "a"'));
    await vi.advanceTimersByTimeAsync(1_000);
    const { at, error } = await late;
    expect(at).toBe(1_000);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(String(error)).toContain('reading "a"');
    await withinTimeout(Promise.resolve(1), 1_000, 'x');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls made while the server is silent share the timeout counted from the first unanswered call', async () => {
    const clock = new RequestClock(1_000);
    const frozen = pendingCall<void>();
    const first = settledAfter(clock.run(() => frozen.promise, 'heartbeat'));
    await vi.advanceTimersByTimeAsync(600);
    // 600 ms into the silence: this call gets the remaining 400 ms.
    const second = settledAfter(clock.run(() => new Promise(() => {}), 'unregister'));
    await vi.advanceTimersByTimeAsync(400);
    expect((await first).at).toBe(1_000);
    expect((await second).at).toBe(400);
    // Past the timeout: a call still gets a short probe, then fails.
    const third = settledAfter(clock.run(() => new Promise(() => {}), 'close'));
    await vi.advanceTimersByTimeAsync(100);
    expect((await third).at).toBe(100);
    expect((await third).error).toBeInstanceOf(BackendUnavailableError);
  });

  it('a call that sees the server answer again (a thaw) gets its full timeout', async () => {
    const clock = new RequestClock(1_000);
    const frozen = pendingCall<void>();
    void clock.run(() => frozen.promise, 'heartbeat').catch(() => {});
    await vi.advanceTimersByTimeAsync(1_200);
    const slow = pendingCall<string>();
    const call = clock.run(() => slow.promise, 'put');
    // The server thaws and answers the old command; ours needs 500 ms more than its probe.
    frozen.answer();
    await vi.advanceTimersByTimeAsync(600);
    slow.answer('ok');
    await expect(call).resolves.toBe('ok');
    expect(clock.silentSince()).toBeUndefined();
    expect(clock.budget()).toBe(1_000);
  });

  it('no call ever waits longer than the timeout from its own start', async () => {
    const clock = new RequestClock(1_000);
    const answered = settledAfter(clock.run(() => Promise.resolve(), 'a'));
    expect((await answered).error).toBeUndefined();
    // Answers keep coming for other calls, but this one never gets its own.
    const stuck = settledAfter(clock.run(() => new Promise(() => {}), 'b'));
    for (let i = 0; i < 5; i++) {
      await vi.advanceTimersByTimeAsync(300);
      await clock.run(() => Promise.resolve(), 'c');
    }
    const { at, error } = await stuck;
    expect(at).toBe(1_000);
    expect(error).toBeInstanceOf(BackendUnavailableError);
  });
});
