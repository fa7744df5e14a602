// Steps of this machine's wall clock during a run, seen against the monotonic clock.
//
// The record of a run is in wall-clock time (owner processes report Date.now(), the servers judge
// deadlines by their wall clock), and the schedule runs on the monotonic clock. When the machine's
// wall clock is set (an NTP step, a VM resumed after a pause), every time in the record after it
// is off by the step and the servers see every deadline move: a run then says so, so that a
// violation next to a step is read with it (the CI failure of 30 November was a ~9 s step, see
// docs/reliability.md).

export interface WallClockStep {
  /** Wall time just after the step (ms). */
  readonly at: number;
  /** Size of the step, ms (negative: set back). */
  readonly ms: number;
}

/** Steps smaller than this are reading noise (a thread preempted between the two clocks). */
const MIN_STEP_MS = 100;

/** Wall time minus monotonic time, read with nothing in between (retried if preempted). */
function offset(): number {
  for (let attempt = 0; ; attempt += 1) {
    const before = performance.now();
    const wall = Date.now();
    const after = performance.now();
    if (after - before < 2 || attempt >= 20) return wall - (before + after) / 2;
  }
}

/** Watches the wall clock every `everyMs` until stopped; `onStep` hears each step as it is seen. */
export function watchWallClock(
  onStep: (step: WallClockStep) => void,
  everyMs = 100,
): { readonly steps: readonly WallClockStep[]; stop(): void } {
  const steps: WallClockStep[] = [];
  let last = offset();
  const timer = setInterval(() => {
    const now = offset();
    if (Math.abs(now - last) >= MIN_STEP_MS) {
      const step = { at: Date.now(), ms: Math.round(now - last) };
      steps.push(step);
      onStep(step);
    }
    last = now;
  }, everyMs);
  timer.unref?.();
  return { steps, stop: () => clearInterval(timer) };
}

/** Monotonic milliseconds (performance.now), for the schedule: immune to steps of the wall clock. */
export const monotonic = (): number => performance.now();
