import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchWallClock } from '../src/wall-clock.js';

describe('wall clock steps during a run', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports a step of the wall clock (9 s forward, then 5 s back) and nothing while it only runs', async () => {
    const heard: number[] = [];
    const watch = watchWallClock((step) => heard.push(step.ms));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(watch.steps).toEqual([]);
    // Date.now() jumps, performance.now() does not: what an NTP step or a resumed VM does.
    vi.setSystemTime(Date.now() + 9_000);
    await vi.advanceTimersByTimeAsync(1_000);
    vi.setSystemTime(Date.now() - 5_000);
    await vi.advanceTimersByTimeAsync(1_000);
    watch.stop();
    expect(heard).toEqual([9_000, -5_000]);
    expect(watch.steps.map((s) => s.ms)).toEqual([9_000, -5_000]);
  });
});
