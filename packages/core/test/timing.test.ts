import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue } from '../src/deadline-queue.js';
import { ExpirySweeper, type ExpiryVerdict } from '../src/expiry-sweeper.js';
import { HeartbeatScheduler, jittered } from '../src/heartbeat-scheduler.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineQueue', () => {
  it('fires keys when due, earliest first, and only the due ones', () => {
    const fired: string[][] = [];
    const queue = new DeadlineQueue<string>((keys) => fired.push(keys));
    queue.set('b', Date.now() + 200);
    queue.set('a', Date.now() + 100);
    queue.set('c', Date.now() + 300);
    vi.advanceTimersByTime(150);
    expect(fired).toEqual([['a']]);
    queue.set('b', Date.now() + 500); // refreshed: its old deadline no longer counts
    vi.advanceTimersByTime(200);
    expect(fired).toEqual([['a'], ['c']]);
    queue.delete('b');
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([['a'], ['c']]);
    expect(queue.size).toBe(0);
  });

  it('keeps its heap small while healthy keys are refreshed over and over', () => {
    const queue = new DeadlineQueue<number>(() => {});
    for (let round = 0; round < 100; round++)
      for (let key = 0; key < 100; key++) queue.set(key, Date.now() + 10_000 + round);
    expect(queue.size).toBe(100);
    expect((queue as unknown as { heap: unknown[] }).heap.length).toBeLessThanOrEqual(300);
  });
});

describe('heartbeat scheduling', () => {
  it('jitters by ±10 %', () => {
    expect(jittered(1000, () => 0)).toBe(900);
    expect(jittered(1000, () => 1)).toBe(1100);
    expect(jittered(1000, () => 0.5)).toBe(1000);
  });

  it('beats each id one interval after the previous beat settled, never overlapping', async () => {
    const beats: number[] = [];
    let release!: () => void;
    const scheduler = new HeartbeatScheduler(
      100,
      async () => {
        beats.push(Date.now());
        await new Promise<void>((resolve) => {
          release = resolve;
        });
      },
      () => 0.5,
    );
    scheduler.start('a');
    await vi.advanceTimersByTimeAsync(100);
    expect(beats).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(500); // the beat is still running: no second one
    expect(beats).toHaveLength(1);
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(beats).toHaveLength(2);
    expect(beats[1]! - beats[0]!).toBe(600); // released at +500, then one interval
    scheduler.cancel('a');
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(beats).toHaveLength(2);
  });
});

describe('ExpirySweeper', () => {
  it('suspects a node ttl after its last write and drops it only when a read confirms', async () => {
    const verdicts: ExpiryVerdict[] = ['alive', 'alive', 'gone'];
    const checks: number[] = [];
    const sweeper = new ExpirySweeper(
      1_000,
      async () => {
        checks.push(Date.now());
        return verdicts.shift()!;
      },
      { recheck: 100 },
    );
    const start = Date.now();
    sweeper.seen('n', start);
    await vi.advanceTimersByTimeAsync(999);
    expect(checks).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(checks).toEqual([start + 1_000]);
    await vi.advanceTimersByTimeAsync(200);
    expect(checks).toEqual([start + 1_000, start + 1_100, start + 1_200]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(checks).toHaveLength(3);
    expect(sweeper.tracked).toBe(0);
  });

  it('a new write postpones the suspicion', async () => {
    const checks: number[] = [];
    const sweeper = new ExpirySweeper(1_000, async () => {
      checks.push(Date.now());
      return 'gone';
    });
    const start = Date.now();
    sweeper.seen('n', start);
    await vi.advanceTimersByTimeAsync(600);
    sweeper.seen('n', Date.now());
    await vi.advanceTimersByTimeAsync(900);
    expect(checks).toEqual([]);
    await vi.advanceTimersByTimeAsync(100);
    expect(checks).toEqual([start + 1_600]);
  });
});

describe('ExpirySweeper and owner clocks (rule 16)', () => {
  it('a listed node is read every probe until a write of it arrives, then timed from that write', async () => {
    const checks: number[] = [];
    const sweeper = new ExpirySweeper(
      4_000,
      async () => {
        checks.push(Date.now());
        return 'alive';
      },
      { recheck: 100 },
    );
    const start = Date.now();
    sweeper.listed('n', start);
    await vi.advanceTimersByTimeAsync(999);
    expect(checks).toEqual([start + 500]);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(checks).toEqual([start + 500, start + 1_000, start + 1_500, start + 2_000]);
    sweeper.seen('n', Date.now());
    await vi.advanceTimersByTimeAsync(3_999);
    expect(checks).toHaveLength(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(checks).toHaveLength(5);
    sweeper.stop();
  });
});
