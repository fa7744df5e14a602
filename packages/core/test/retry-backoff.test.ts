import { describe, expect, it } from 'vitest';
import { RetryBackoff } from '../src/retry-backoff.js';

describe('RetryBackoff (rule 15)', () => {
  it('retries the first failure at once, then doubles up to the cap, jittered between half and all', () => {
    const now = () => 0;
    const low = new RetryBackoff({ random: () => 0, now });
    const high = new RetryBackoff({ random: () => 1, now });
    const lows = Array.from({ length: 8 }, () => low.failed());
    const highs = Array.from({ length: 8 }, () => high.failed());
    expect(lows).toEqual([0, 125, 250, 500, 1_000, 2_000, 2_500, 2_500]);
    expect(highs).toEqual([0, 250, 500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('a feed that started and failed at once does not reset the count; one that ran for a while does', () => {
    let now = 0;
    const backoff = new RetryBackoff({ random: () => 1, now: () => now });
    backoff.failed();
    backoff.running();
    now += 100;
    expect(backoff.failed()).toBe(250);
    backoff.running();
    now += 9_000;
    expect(backoff.failed()).toBe(500);
    backoff.running();
    now += 10_000;
    expect(backoff.failed()).toBe(0);
  });
});
