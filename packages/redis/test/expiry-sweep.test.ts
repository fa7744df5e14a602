import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpirySweep, type Lease, type SweepStore, sweepTiming } from '../src/expiry-sweep.js';

/** The leases of one namespace, expiring by the (fake) clock like Redis PX keys. */
class Leases {
  readonly held = new Map<Lease, { holder: string; until: number }>();
  due = false;
  sweeps: string[] = [];

  get(lease: Lease): string | null {
    const entry = this.held.get(lease);
    if (!entry || entry.until <= Date.now()) return null;
    return entry.holder;
  }

  store(holder: string): SweepStore & { calls: number } {
    const leases = this;
    const store = {
      calls: 0,
      async acquire(lease: Lease, ms: number) {
        store.calls++;
        if (leases.get(lease) !== null) return false;
        leases.held.set(lease, { holder, until: Date.now() + ms });
        return true;
      },
      async renew(lease: Lease, ms: number) {
        store.calls++;
        const previous = leases.get(lease);
        if (previous !== null) leases.held.set(lease, { holder, until: Date.now() + ms });
        return previous;
      },
      async restore(lease: Lease, previous: string, ms: number) {
        store.calls++;
        leases.held.set(lease, { holder: previous, until: Date.now() + ms });
      },
      async release(lease: Lease) {
        store.calls++;
        if (leases.get(lease) === holder) leases.held.delete(lease);
      },
      async anyDue() {
        store.calls++;
        return leases.due;
      },
      async sweep() {
        store.calls++;
        leases.sweeps.push(holder);
        leases.due = false;
      },
    };
    return store;
  }
}

const TTL = 3_000;
const timing = sweepTiming(TTL);
const noFailure = () => {
  throw new Error('unexpected sweep failure');
};

describe('expiry sweep roles', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(leases: Leases, holder: string): ExpirySweep {
    const sweep = new ExpirySweep(leases.store(holder), holder, timing, noFailure, () => 0.5);
    sweep.start();
    return sweep;
  }

  it('the first instance sweeps, the second stands by, the rest only watch the standby', async () => {
    const leases = new Leases();
    const a = start(leases, 'a');
    await vi.advanceTimersByTimeAsync(10);
    const b = start(leases, 'b');
    await vi.advanceTimersByTimeAsync(10);
    const c = start(leases, 'c');
    await vi.advanceTimersByTimeAsync(10_000);
    expect([a.currentRole, b.currentRole, c.currentRole]).toEqual(['sweeper', 'standby', 'other']);
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweepEvery);
    expect(leases.sweeps).toEqual(['a']);
  });

  it('when the sweeper stops renewing, the standby sweeps within 0.75 × slack — inside the bound of rule 4', async () => {
    const leases = new Leases();
    const sweeperStore = leases.store('a');
    const a = new ExpirySweep(sweeperStore, 'a', timing, noFailure, () => 0.5);
    a.start();
    await vi.advanceTimersByTimeAsync(10);
    const b = start(leases, 'b');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(b.currentRole).toBe('standby');
    // a dies (no release: a crash), right after renewing; a record is due at that moment.
    const renewedAt = Date.now();
    (sweeperStore as { renew: unknown }).renew = () => new Promise(() => {});
    (sweeperStore as { anyDue: unknown }).anyDue = () => new Promise(() => {});
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweeperLease + timing.standbyEvery + 1);
    expect(leases.sweeps).toEqual(['b']);
    expect(b.currentRole).toBe('sweeper');
    const slack = Math.max(1_000, TTL / 4);
    expect(Date.now() - renewedAt).toBeLessThanOrEqual(slack);
    void a;
  });

  it('a sweeper that stalled past its lease gives it back to the newer holder and steps down', async () => {
    const leases = new Leases();
    const a = start(leases, 'a');
    await vi.advanceTimersByTimeAsync(10);
    // Someone else holds the sweeper lease now (a took too long to renew).
    leases.held.set('sweeper', { holder: 'z', until: Date.now() + 60_000 });
    await vi.advanceTimersByTimeAsync(timing.sweepEvery + 1);
    expect(a.currentRole).toBe('other');
    expect(leases.get('sweeper')).toBe('z');
  });

  it('stop() gives the leases back at once, so the standby takes over without waiting for them to lapse', async () => {
    const leases = new Leases();
    const a = start(leases, 'a');
    await vi.advanceTimersByTimeAsync(10);
    const b = start(leases, 'b');
    await vi.advanceTimersByTimeAsync(10);
    await a.stop();
    expect(leases.get('sweeper')).toBeNull();
    await vi.advanceTimersByTimeAsync(timing.standbyEvery + 1);
    expect(b.currentRole).toBe('sweeper');
    await b.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an idle instance that is neither sweeper nor standby makes one call every ~8 × slack', async () => {
    const leases = new Leases();
    start(leases, 'a');
    await vi.advanceTimersByTimeAsync(10);
    start(leases, 'b');
    await vi.advanceTimersByTimeAsync(10);
    const store = leases.store('c');
    const c = new ExpirySweep(store, 'c', timing, noFailure, () => 0.5);
    c.start();
    await vi.advanceTimersByTimeAsync(80_000);
    // One standby check at start, then one per 8 s (jitter fixed at the middle here).
    expect(store.calls).toBe(1 + 10);
  });
});

describe('sweep timing', () => {
  it.each([1_000, 1_100, 3_000, 10_000 / 3, 3_500, 10_000, 60_000])(
    'at ttl %d the loss of the sweeper is covered within the slack of rule 4',
    (ttl) => {
      const t = sweepTiming(ttl);
      const slack = Math.max(1_000, ttl / 4);
      expect(t.sweepEvery).toBeLessThan(t.sweeperLease);
      expect(t.sweeperLease + t.standbyEvery).toBeLessThanOrEqual(slack * 0.75 + 1);
      expect(t.sweepEvery).toBeLessThanOrEqual(slack * 0.3 + 1);
    },
  );
});
