// The expiry sweep: one instance at a time (a leased sweeper, a standby) removes expired records into the stream.
import { type ClockStep, type ForwardStep, ServerClock } from './server-clock.js';

/**
 * What the sweep needs from the server. Leases are strings with a PX expiry (server clock):
 * `acquire` is `SET key holder NX PX ms`, `renew` is `SET key holder XX PX ms GET` (the holder it
 * replaced), `restore` gives a lease back to the holder a renew overwrote.
 */
export interface SweepStore {
  acquire(lease: Lease, ms: number): Promise<boolean>;
  renew(lease: Lease, ms: number): Promise<string | null>;
  restore(lease: Lease, holder: string, ms: number): Promise<void>;
  release(lease: Lease): Promise<void>;
  /** True when some record is past its deadline (one `XPENDING … IDLE ttl … 1`). */
  anyDue(): Promise<boolean>;
  /** Deletes every record past its deadline, each as an `expired` change. */
  sweep(): Promise<void>;
  /** The server's wall time in ms (`TIME`), or `undefined` when this client may not read it. */
  serverTime(): Promise<number | undefined>;
  /**
   * Records a forward step of the server's clock, so that every deadline check (the sweep, and
   * any get, put, delete or list) gives the records heartbeated before it that much more time.
   * Resolves to the allowance in force (ms).
   */
  noteClockStep(step: ForwardStep): Promise<number>;
}

/** What the sweep reports about the server's clock, and the clock it measures time with. */
export interface SweepClockOptions {
  /** This process's monotonic clock in ms. Default `performance.now()`. */
  readonly monotonic?: () => number;
  /** A step of the server's clock was seen (`allowance`: ms now granted, 0 for a backward step). */
  readonly onStep?: (step: ClockStep, allowance: number) => void;
}

export type Lease = 'sweeper' | 'standby';
type Role = 'sweeper' | 'standby' | 'other';

/** Periods and leases, all derived from the ttl (see {@link sweepTiming}). */
export interface SweepTiming {
  /** How often the sweeper checks for due records (and renews its lease). */
  readonly sweepEvery: number;
  readonly sweeperLease: number;
  /** How often the standby tries to take the sweeper lease. */
  readonly standbyEvery: number;
  readonly standbyLease: number;
  /** How often the standby renews its own lease. */
  readonly standbyRenewEvery: number;
  /** How often any other instance tries to become the standby (jittered ±20 %). */
  readonly othersEvery: number;
  /** How often the sweeper and the standby read the server's clock when nothing is due. */
  readonly clockEvery: number;
}

/**
 * Rule 4 gives an expiry `slack = max(1 s, ttl / 4)` past the ttl. The sweeper finds a due record
 * within `sweepEvery` (0.3 slack). When it dies, its lease lapses within `sweeperLease` (0.5 slack)
 * and the standby, checking every `standbyEvery` (0.25 slack), takes over and sweeps at once:
 * 0.75 slack, so the bound holds across the loss of the sweeper too. The other instances only
 * check the standby lease, rarely: that is what keeps the cost per instance flat.
 */
export function sweepTiming(ttl: number): SweepTiming {
  const slack = Math.max(1_000, ttl / 4);
  return {
    sweepEvery: Math.round(slack * 0.3),
    sweeperLease: Math.round(slack * 0.5),
    standbyEvery: Math.round(slack * 0.25),
    standbyLease: Math.round(slack * 3),
    standbyRenewEvery: Math.round(slack),
    othersEvery: Math.round(slack * 8),
    clockEvery: Math.round(slack * 8),
  };
}

/**
 * Sweeps expired records with a cost that does not grow with the number of instances: one
 * instance (the holder of the `sweeper` lease) checks for due records every `sweepEvery`, one
 * (the `standby`) watches that lease closely, and every other instance only checks, every few
 * seconds, whether the standby is still there. The sweep script is idempotent, so two sweepers
 * for a moment (a holder frozen past its lease) do no harm.
 *
 * Deadlines are judged by the server's wall clock (the idle time of pending entries). When that
 * clock is set forward (an NTP step, a VM resumed), every record looks older at once, and a sweep
 * would delete live nodes by the hundred. So the sweeper and the standby read the server's clock
 * against this process's monotonic clock, at least every `clockEvery` and again right before
 * each sweep; a forward step is recorded on the server (`noteClockStep`) before anything is
 * deleted, and every deadline check then grants it to the records heartbeated before it.
 */
export class ExpirySweep {
  private role: Role = 'other';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private failing = false;
  private ticks = 0;
  private running: Promise<void> = Promise.resolve();
  private readonly clock: ServerClock;
  private readonly monotonic: () => number;

  constructor(
    private readonly store: SweepStore,
    /** This instance's lease value (what `renew` returns when the lease was ours). */
    private readonly holder: string,
    private readonly timing: SweepTiming,
    private readonly onFailure: (error: unknown, first: boolean) => void,
    private readonly random: () => number = Math.random,
    private readonly clockOptions: SweepClockOptions = {},
  ) {
    this.monotonic = clockOptions.monotonic ?? (() => performance.now());
    this.clock = new ServerClock(() => store.serverTime(), this.monotonic);
  }

  /** The role this instance has now (for tests and logs). */
  get currentRole(): Role {
    return this.role;
  }

  start(): void {
    this.schedule(0);
  }

  /** Stops the timer and gives back the leases this instance holds (best effort). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    const held = this.role;
    this.role = 'other';
    if (held !== 'other') await this.store.release(held).catch(() => {});
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick();
    }, ms);
    // Sweeping serves the watchers; it must not keep a process alive on its own.
    this.timer.unref?.();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.ticks++;
    try {
      await this.step();
      this.failing = false;
    } catch (error) {
      // A call cut short by close() is no failure worth a warning.
      if (!this.stopped) this.onFailure(error, !this.failing);
      this.failing = true;
    }
    this.schedule(this.period());
  }

  private period(): number {
    const t = this.timing;
    if (this.role === 'sweeper') return t.sweepEvery;
    if (this.role === 'standby') return t.standbyEvery;
    return Math.round(t.othersEvery * (0.8 + 0.4 * this.random()));
  }

  private async step(): Promise<void> {
    const { store, timing } = this;
    if (this.role === 'other') {
      if (!(await store.acquire('standby', timing.standbyLease))) return;
      this.role = 'standby';
    }
    if (this.role === 'standby') {
      if (await store.acquire('sweeper', timing.sweeperLease)) {
        this.role = 'sweeper';
        await store.release('standby');
      } else {
        if (this.ticks % Math.max(1, Math.round(timing.standbyRenewEvery / timing.standbyEvery)) === 0)
          await this.keep('standby', timing.standbyLease);
        await this.keepClockReading();
        return;
      }
    } else if (!(await this.keep('sweeper', timing.sweeperLease))) return;
    if (this.stopped) return;
    await this.keepClockReading();
    // Deadlines are judged by the server's clock: check it has not been set forward, right before deleting by it.
    if ((await store.anyDue()) && (await this.checkClock())) await store.sweep();
  }

  /** A reading to compare the next one with, never older than `clockEvery`: taken before this instance may sweep. */
  private async keepClockReading(): Promise<void> {
    const last = this.clock.lastReadAt;
    if (last === undefined || this.monotonic() - last >= this.timing.clockEvery) await this.checkClock();
  }

  /**
   * Reads the server's clock; a forward step is recorded on the server before anything is swept.
   * False when there is no earlier reading to compare with (the sweep waits for the next tick).
   */
  private async checkClock(): Promise<boolean> {
    const result = await this.clock.check(async (step) => {
      const allowance = step.kind === 'forward' ? await this.store.noteClockStep(step) : 0;
      this.clockOptions.onStep?.(step, allowance);
    });
    return result !== 'first';
  }

  /** Renews a held lease; false (and role `other`) when it turned out to be someone else's. */
  private async keep(lease: Lease, ms: number): Promise<boolean> {
    const previous = await this.store.renew(lease, ms);
    if (previous === this.holder) return true;
    if (previous === null) {
      // Lapsed (a server pause, a long stall here) and nobody took it: take it again if free.
      if (await this.store.acquire(lease, ms)) return true;
    } else {
      // Taken over while we were stalled: give it back, the newer holder keeps it.
      await this.store.restore(lease, previous, ms);
    }
    this.role = 'other';
    return false;
  }
}
