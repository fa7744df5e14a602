// Pure logic of leaving a silent etcd member: the hedged request and the member bookkeeping (fake timers).
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HEDGE_MS, hedged } from '../src/hedge.js';
import { HostHealth, isSilence, SUSPECT_MS } from '../src/host-health.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A promise and the functions that settle it. */
function pending<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('hedged', () => {
  it('an answer before the hedge time sends nothing again', async () => {
    const again = vi.fn(() => Promise.resolve('second'));
    const result = hedged(Promise.resolve('first'), HEDGE_MS, again);
    await expect(result).resolves.toBe('first');
    await vi.advanceTimersByTimeAsync(HEDGE_MS * 2);
    expect(again).not.toHaveBeenCalled();
  });

  it('a first attempt still silent at the hedge time is sent again, and the second answer wins', async () => {
    const first = pending<string>();
    const onHedge = vi.fn();
    const again = vi.fn(() => Promise.resolve('second'));
    const result = hedged(first.promise, HEDGE_MS, again, onHedge);
    await vi.advanceTimersByTimeAsync(HEDGE_MS - 1);
    expect(again).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(onHedge).toHaveBeenCalledTimes(1);
    await expect(result).resolves.toBe('second');
    first.resolve('late');
  });

  it('a first attempt that fails before the hedge time rejects at once, with nothing sent again', async () => {
    const again = vi.fn(() => Promise.resolve('second'));
    const result = hedged(Promise.reject(new Error('refused')), HEDGE_MS, again);
    await expect(result).rejects.toThrow('refused');
    await vi.advanceTimersByTimeAsync(HEDGE_MS * 2);
    expect(again).not.toHaveBeenCalled();
  });

  it('after a hedge it rejects only once both failed, with the first error', async () => {
    const first = pending<string>();
    const second = pending<string>();
    const result = hedged(first.promise, HEDGE_MS, () => second.promise);
    let settled = false;
    result.catch(() => {}).finally(() => (settled = true));
    await vi.advanceTimersByTimeAsync(HEDGE_MS);
    second.reject(new Error('second failed'));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    first.reject(new Error('first failed'));
    await expect(result).rejects.toThrow('first failed');
  });
});

describe('HostHealth', () => {
  const hosts = ['http://a:2379', 'http://b:2379', 'http://c:2379'];

  it('a member whose call timed out is passed over for SUSPECT_MS while others answer, then used again', async () => {
    const health = new HostHealth(hosts);
    const policy = health.policy(hosts[0]!);
    await expect(
      policy.execute(() => Promise.reject(new GRPCDeadlineExceededError('deadline exceeded'))),
    ).rejects.toThrow('deadline exceeded');
    expect(health.avoid(hosts[0]!)).toBe(true);
    expect(health.avoid(hosts[1]!)).toBe(false);
    // Refused without calling through: etcd3's pool then tries the next member.
    const call = vi.fn(() => Promise.resolve('answer'));
    await expect(policy.execute(call)).rejects.toThrow(/did not answer recently/);
    expect(call).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(SUSPECT_MS);
    expect(health.avoid(hosts[0]!)).toBe(false);
    await expect(policy.execute(call)).resolves.toBe('answer');
  });

  it('no member is passed over when every member is suspect', async () => {
    const health = new HostHealth(hosts);
    for (const host of hosts) health.suspect(host);
    for (const host of hosts) expect(health.avoid(host)).toBe(false);
  });

  it('a member with a call unanswered for HEDGE_MS and no answer since is passed over; one that still answers is not', async () => {
    const health = new HostHealth(hosts);
    const silent = pending<string>();
    void health.policy(hosts[0]!).execute(() => silent.promise);
    const slow = pending<string>();
    void health.policy(hosts[1]!).execute(() => slow.promise);
    await vi.advanceTimersByTimeAsync(HEDGE_MS / 2);
    await health.policy(hosts[1]!).execute(() => Promise.resolve('quick'));
    await vi.advanceTimersByTimeAsync(HEDGE_MS / 2);
    expect(health.avoid(hosts[0]!)).toBe(true);
    expect(health.avoid(hosts[1]!)).toBe(false);
    silent.resolve('at last');
    slow.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(health.avoid(hosts[0]!)).toBe(false);
  });

  it("etcd's own refusals (no leader) and other errors do not make a member suspect", async () => {
    const health = new HostHealth(hosts);
    await expect(
      health
        .policy(hosts[0]!)
        .execute(() => Promise.reject(new GRPCUnavailableError('etcdserver: no leader'))),
    ).rejects.toThrow();
    expect(health.avoid(hosts[0]!)).toBe(false);
    expect(isSilence(new GRPCUnavailableError('No connection established'))).toBe(true);
    expect(isSilence(new Error('etcdserver: permission denied'))).toBe(false);
  });

  it('a stream is remembered with its member: a stalled stream avoids the member briefly, a failed one for SUSPECT_MS', async () => {
    const health = new HostHealth(hosts);
    const stream = { write: () => true, on: () => stream };
    await expect(health.policy(hosts[2]!).execute(() => Promise.resolve(stream))).resolves.toBe(stream);
    expect(health.avoidsStream(stream)).toBe(false);
    health.streamStalled(stream);
    expect(health.avoidsStream(stream)).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(health.avoidsStream(stream)).toBe(false);
    health.streamFailed(stream);
    await vi.advanceTimersByTimeAsync(SUSPECT_MS - 1);
    expect(health.avoid(hosts[2]!)).toBe(true);
  });
});
