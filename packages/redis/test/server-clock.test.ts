import { describe, expect, it } from 'vitest';
import { type ClockSample, clockStep, ServerClock } from '../src/server-clock.js';

/** A reading sent at `sentAt`, answered `rtt` ms later, the server having read `server`. */
const sample = (sentAt: number, rtt: number, server: number): ClockSample => ({
  sentAt,
  receivedAt: sentAt + rtt,
  server,
});

describe('steps of the server clock', () => {
  it('a steady clock is no step, whatever the round trips', () => {
    expect(clockStep(sample(0, 2, 1_000_001), sample(300, 2, 1_000_301))).toBeUndefined();
    // The first answer took 900 ms, the server read its clock at the end of it.
    expect(clockStep(sample(0, 900, 1_000_900), sample(1_000, 1, 1_001_000))).toBeUndefined();
    // The second one took 2 s (a frozen server reading its clock as it thaws).
    expect(clockStep(sample(0, 1, 1_000_000), sample(300, 2_000, 1_002_300))).toBeUndefined();
  });

  it('a forward step is the largest the readings allow; a backward one the smallest they prove', () => {
    expect(clockStep(sample(0, 2, 1_000_001), sample(300, 2, 1_009_301))).toEqual({
      kind: 'forward',
      ms: 9_002,
      since: 1_000_001,
      at: 1_009_301,
    });
    expect(clockStep(sample(0, 2, 1_000_001), sample(300, 2, 995_301))).toEqual({
      kind: 'backward',
      ms: 4_998,
    });
  });

  it('steps up to 100 ms, and drift of up to 1000 ppm between readings, are ignored', () => {
    expect(clockStep(sample(0, 0, 1_000_000), sample(300, 0, 1_000_390))).toBeUndefined();
    expect(clockStep(sample(0, 0, 1_000_000), sample(300, 0, 1_000_420))?.kind).toBe('forward');
    // 80 s apart, the server's clock ran 150 ms fast: within 100 ms + 80 ms of drift.
    expect(clockStep(sample(0, 0, 1_000_000), sample(80_000, 0, 1_080_150))).toBeUndefined();
  });

  it('ServerClock: the first reading has nothing to compare with; one that may not be read says so', async () => {
    let now = 0;
    let server: number | undefined = 5_000_000;
    const clock = new ServerClock(
      async () => server,
      () => now,
    );
    const steps: unknown[] = [];
    const onStep = async (step: unknown) => void steps.push(step);
    expect(await clock.check(onStep)).toBe('first');
    now = 300;
    server = 5_000_300;
    expect(await clock.check(onStep)).toBe('steady');
    now = 600;
    server = 5_009_600;
    expect(await clock.check(onStep)).toBe('stepped');
    expect(steps).toEqual([{ kind: 'forward', ms: 9_000, since: 5_000_300, at: 5_009_600 }]);
    server = undefined;
    expect(await clock.check(onStep)).toBe('unreadable');
  });
});
