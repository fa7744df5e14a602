import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ExpirySweep,
  type Lease,
  type SweepClockOptions,
  type SweepStore,
  sweepTiming,
} from '../src/expiry-sweep.js';
import type { ClockStep, ForwardStep } from '../src/server-clock.js';

/** The leases of one namespace, expiring by the (fake) clock like Redis PX keys. */
class Leases {
  readonly held = new Map<Lease, { holder: string; until: number }>();
  due = false;
  sweeps: string[] = [];
  /** How far the server's wall clock is ahead of the (fake) time: a step sets it. */
  serverClockOffset = 0;
  clockReads = 0;
  steps: ForwardStep[] = [];
  /** Every store call, in order, as `<holder>:<call>`. */
  log: string[] = [];

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
        leases.log.push(`${holder}:anyDue`);
        return leases.due;
      },
      async sweep() {
        store.calls++;
        leases.log.push(`${holder}:sweep`);
        leases.sweeps.push(holder);
        leases.due = false;
      },
      async serverTime(): Promise<number | undefined> {
        store.calls++;
        leases.log.push(`${holder}:serverTime`);
        leases.clockReads++;
        return Date.now() + leases.serverClockOffset;
      },
      async noteClockStep(step: ForwardStep) {
        store.calls++;
        leases.log.push(`${holder}:noteClockStep`);
        leases.steps.push(step);
        return step.ms;
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

describe('expiry sweep and steps of the server clock', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(leases: Leases, holder: string, onStep?: SweepClockOptions['onStep']) {
    const store = leases.store(holder);
    const sweep = new ExpirySweep(store, holder, timing, noFailure, () => 0.5, onStep ? { onStep } : {});
    sweep.start();
    return { sweep, store };
  }

  it('a forward step of the server clock (an NTP step, a VM resumed) is recorded before the sweep that follows it', async () => {
    const leases = new Leases();
    const seen: ClockStep[] = [];
    const { sweep } = start(leases, 'a', (step) => seen.push(step));
    await vi.advanceTimersByTimeAsync(timing.sweepEvery * 3);
    expect(sweep.currentRole).toBe('sweeper');
    // Every record now looks 9 s older to the server: the next due check finds them all.
    leases.serverClockOffset = 9_000;
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweepEvery);
    expect(leases.steps).toEqual([expect.objectContaining({ kind: 'forward', ms: 9_000 })]);
    expect(seen).toEqual(leases.steps);
    const log = leases.log.filter((call) => call !== 'a:anyDue');
    expect(log.slice(-3)).toEqual(['a:serverTime', 'a:noteClockStep', 'a:sweep']);
  });

  it('every sweep comes right after a reading of the server clock compared with an earlier one', async () => {
    const leases = new Leases();
    start(leases, 'a');
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweepEvery * 5);
    expect(leases.sweeps.length).toBeGreaterThan(0);
    leases.log.forEach((call, i) => {
      if (call !== 'a:sweep') return;
      expect(leases.log[i - 1]).toBe('a:serverTime');
      expect(leases.log.slice(0, i - 1)).toContain('a:serverTime');
    });
    expect(leases.steps).toEqual([]);
  });

  it('a step whose recording failed is seen again at the next reading; nothing is swept until it is recorded', async () => {
    const leases = new Leases();
    const failures: unknown[] = [];
    const store = leases.store('a');
    const sweep = new ExpirySweep(
      store,
      'a',
      timing,
      (error) => failures.push(error),
      () => 0.5,
    );
    sweep.start();
    await vi.advanceTimersByTimeAsync(timing.sweepEvery * 2);
    const record = store.noteClockStep;
    store.noteClockStep = async () => {
      store.noteClockStep = record;
      throw new Error('request timed out');
    };
    leases.serverClockOffset = 9_000;
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweepEvery);
    expect(failures).toHaveLength(1);
    expect(leases.sweeps).toEqual([]);
    await vi.advanceTimersByTimeAsync(timing.sweepEvery);
    expect(leases.steps).toEqual([expect.objectContaining({ kind: 'forward', ms: 9_000 })]);
    expect(leases.sweeps).toEqual(['a']);
  });

  it('a slow answer is no step: a server that reads its clock 2 s after the call was sent (frozen meanwhile) is not taken for one', async () => {
    const leases = new Leases();
    const { store } = start(leases, 'a');
    await vi.advanceTimersByTimeAsync(timing.sweepEvery * 2);
    // From now on the server answers 2 s late, reading its (steady) clock when it answers.
    store.serverTime = async () => {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      return Date.now();
    };
    leases.due = true;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(leases.steps).toEqual([]);
    expect(leases.sweeps.length).toBeGreaterThan(0);
  });

  it('a backward step is reported, not recorded, and the sweep goes on', async () => {
    const leases = new Leases();
    const seen: ClockStep[] = [];
    start(leases, 'a', (step) => seen.push(step));
    await vi.advanceTimersByTimeAsync(timing.sweepEvery * 2);
    leases.serverClockOffset = -5_000;
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweepEvery);
    expect(seen).toEqual([{ kind: 'backward', ms: 5_000 }]);
    expect(leases.steps).toEqual([]);
    expect(leases.sweeps).toEqual(['a']);
  });

  it('a client that may not read the server clock (an ACL without TIME) sweeps as before', async () => {
    const leases = new Leases();
    const { store } = start(leases, 'a');
    store.serverTime = async () => undefined;
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweepEvery * 2);
    expect(leases.sweeps.length).toBeGreaterThan(0);
  });

  it('the standby keeps a recent reading, so its takeover right after a step is judged by it too', async () => {
    const leases = new Leases();
    const a = start(leases, 'a');
    await vi.advanceTimersByTimeAsync(10);
    const b = start(leases, 'b');
    await vi.advanceTimersByTimeAsync(timing.clockEvery * 3);
    expect(b.sweep.currentRole).toBe('standby');
    // a crashes; the server's clock steps; everything looks due.
    a.store.renew = () => new Promise(() => {});
    a.store.anyDue = () => new Promise(() => {});
    leases.serverClockOffset = 9_000;
    leases.due = true;
    await vi.advanceTimersByTimeAsync(timing.sweeperLease + timing.standbyEvery + 1);
    expect(b.sweep.currentRole).toBe('sweeper');
    expect(leases.sweeps).toEqual(['b']);
    // (a, stuck in its renewal, may have seen the step too: the server keeps the larger of the two.)
    expect(leases.steps.map((step) => step.ms)).toContain(9_000);
    const log = leases.log.filter((call) => call.startsWith('b:') && call !== 'b:anyDue');
    expect(log.slice(-3)).toEqual(['b:serverTime', 'b:noteClockStep', 'b:sweep']);
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
