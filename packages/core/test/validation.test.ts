import { describe, expect, it } from 'vitest';
import { INVALID_REGISTRATIONS } from '../src/conformance/cases/validation.js';
import { InvalidNodeError, InvalidOptionsError } from '../src/errors.js';
import { resolveOptions } from '../src/resolve-options.js';
import type { DiscoveryBackend } from '../src/spi/discovery-backend.js';
import { assertValidNamespace, assertValidRegistration, idProblem } from '../src/validation.js';

describe('validation', () => {
  it.each(['a', 'api-1', 'A_b=c.d-e', 'x'.repeat(128), 'a.b.c', '0'])('accepts the id %s', (id) => {
    expect(idProblem(id)).toBeUndefined();
  });

  // The 16 KiB rule needs the encoded record: the codec checks it (record-codec.test.ts).
  it.each(INVALID_REGISTRATIONS.filter(([what]) => !what.includes('16 KiB')))(
    'rejects %s with InvalidNodeError',
    (_, registration) => {
      expect(() => assertValidRegistration(registration)).toThrow(InvalidNodeError);
    },
  );

  it('names the offending value and what is allowed', () => {
    expect(() => assertValidRegistration({ id: 'has space' })).toThrow(/"has space".*A-Z a-z 0-9 _ - = \./);
    expect(() => assertValidRegistration({ id: 'x', load: -1 })).toThrow(/finite number >= 0, got -1/);
    expect(() => assertValidRegistration({ id: 'x', metadata: { zone: 3 } })).toThrow(/"zone".*got 3/);
  });

  it('accepts a full registration', () => {
    expect(() =>
      assertValidRegistration({ id: 'api-1', address: 'h:1', metadata: { a: 'b' }, load: 0.5 }),
    ).not.toThrow();
  });

  it.each(['', 'a b', 'a.b', 'x'.repeat(65), 'ümlaut'])('rejects the namespace %j', (namespace) => {
    expect(() => assertValidNamespace(namespace)).toThrow(InvalidOptionsError);
  });
});

describe('createDiscovery options', () => {
  const backend = { open() {}, put() {} } as unknown as DiscoveryBackend;

  it('fills in the defaults', () => {
    expect(resolveOptions({ backend })).toMatchObject({
      ttl: 10_000,
      heartbeatInterval: 10_000 / 3,
      autoHeartbeat: true,
      reregister: true,
    });
  });

  it.each([
    [{ ttl: 999 }, /ttl must be a number of ms >= 1000, got 999/],
    [{ ttl: Number.NaN }, /ttl/],
    [{ ttl: 1000, heartbeatInterval: 1000 }, /heartbeatInterval/],
    [{ heartbeatInterval: 0 }, /heartbeatInterval/],
  ])('rejects %j', (options, message) => {
    expect(() => resolveOptions({ backend, ...options })).toThrow(message);
  });

  it('rejects a missing backend', () => {
    expect(() => resolveOptions({} as never)).toThrow(/memoryBackend/);
  });
});
