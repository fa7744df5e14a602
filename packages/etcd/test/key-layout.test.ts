import { InvalidOptionsError } from '@roster/core';
import { describe, expect, it } from 'vitest';
import { KeyLayout, prefixEnd } from '../src/key-layout.js';
import { assertGrantedTtl, leaseSeconds } from '../src/lease-ttl.js';

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

describe('lease ttl', () => {
  it('rounds a ttl up to whole seconds, never down', () => {
    expect(leaseSeconds(1000)).toBe(1);
    expect(leaseSeconds(1001)).toBe(2);
    expect(leaseSeconds(2000)).toBe(2);
    expect(leaseSeconds(10_500)).toBe(11);
  });

  it('refuses a ttl shorter than the lease the server grants', () => {
    expect(() => assertGrantedTtl(1, 2, 1000)).toThrow(/use ttl >= 2000 ms/);
    expect(() => assertGrantedTtl(2, 2, 2000)).not.toThrow();
  });
});
