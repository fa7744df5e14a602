import { InvalidOptionsError } from '@roster/core';
import { describe, expect, it } from 'vitest';
import { KeyLayout, prefixEnd } from '../src/key-layout.js';
import { planLeases, requestedSeconds } from '../src/lease-ttl.js';
import { ObservedWrites } from '../src/observed-writes.js';

describe('key layout', () => {
  const layout = new KeyLayout('roster', 'prod');

  it('puts every key under <prefix>/<namespace>/', () => {
    expect(layout.node('api-1').toString()).toBe('roster/prod/nodes/api-1');
    expect(layout.history('api-1').toString()).toBe('roster/prod/history/api-1');
    expect(layout.leave('api-1').toString()).toBe('roster/prod/leaves/api-1');
    expect(layout.config.toString()).toBe('roster/prod/config');
  });

  it('classifies keys, and reports a key under nodes/ whose id is invalid', () => {
    expect(layout.parse(Buffer.from('roster/prod/nodes/a.b'))).toEqual({ kind: 'node', id: 'a.b' });
    expect(layout.parse(Buffer.from('roster/prod/leaves/a'))).toEqual({ kind: 'leave', id: 'a' });
    expect(layout.parse(Buffer.from('roster/prod/history/a'))).toEqual({ kind: 'history', id: 'a' });
    expect(layout.parse(Buffer.from('roster/prod/nodes/a/b'))).toEqual({
      kind: 'invalid-node',
      key: 'roster/prod/nodes/a/b',
    });
    expect(layout.parse(Buffer.from('roster/prod/config'))).toBeUndefined();
    expect(layout.parse(Buffer.from('roster/prod2/nodes/a'))).toBeUndefined();
  });

  it('rejects a prefix with empty segments or odd characters', () => {
    for (const bad of ['', '/roster', 'roster/', 'a//b', 'a b', 'ros*ter'])
      expect(() => new KeyLayout(bad, 'prod'), bad).toThrow(InvalidOptionsError);
    expect(new KeyLayout('apps/roster', 'prod').node('x').toString()).toBe('apps/roster/prod/nodes/x');
  });

  it('computes the end of a prefix range', () => {
    expect(prefixEnd(Buffer.from('ab/')).toString()).toBe('ab0');
    expect([...prefixEnd(Buffer.from([0x61, 0xff]))]).toEqual([0x62]);
    expect([...prefixEnd(Buffer.from([0xff]))]).toEqual([0]);
  });
});

describe('lease plan', () => {
  it('times whole and fractional ttls with a whole-second lease and a delayed keep-alive', () => {
    expect(planLeases(1000, 1)).toEqual({ mode: 'lease', seconds: 1, keepAliveDelay: 0 });
    expect(planLeases(1100, 1)).toEqual({ mode: 'lease', seconds: 1, keepAliveDelay: 100 });
    expect(planLeases(3500, 2)).toEqual({ mode: 'lease', seconds: 3, keepAliveDelay: 500 });
    const third = planLeases(10_000 / 3, 1);
    expect(third.seconds).toBe(3);
    expect(third.seconds * 1000 + third.keepAliveDelay).toBeCloseTo(10_000 / 3, 6);
    expect(requestedSeconds(1999)).toBe(1);
    expect(requestedSeconds(10_000)).toBe(10);
  });

  it('falls back to observer-timed expiry when the server grants no lease that short', () => {
    // A default etcd (1 s election timeout) grants no lease under 2 s.
    expect(planLeases(1100, 2)).toEqual({ mode: 'observed', seconds: 2, keepAliveDelay: 0 });
    expect(planLeases(1999, 2)).toEqual({ mode: 'observed', seconds: 2, keepAliveDelay: 0 });
    expect(planLeases(2000, 2)).toEqual({ mode: 'lease', seconds: 2, keepAliveDelay: 0 });
  });
});

describe('observed writes', () => {
  it('a revision is stale ttl after this process first held it, by its own clock', () => {
    let now = 0;
    const observed = new ObservedWrites(1100, () => now);
    observed.seen('a', 5);
    now = 1000;
    observed.seen('a', 5);
    expect(observed.stale('a', 5)).toBe(false);
    now = 1100;
    expect(observed.stale('a', 5)).toBe(true);
    expect(observed.stale('a', 6)).toBe(false);
    observed.seen('a', 6);
    expect(observed.stale('a', 6)).toBe(false);
    // An older revision arriving late does not move the clock back.
    observed.seen('a', 4);
    now = 2200;
    expect(observed.stale('a', 6)).toBe(true);
    observed.forget('a');
    expect(observed.stale('a', 6)).toBe(false);
  });
});
