// DiscoveryError.isInstance: a Symbol.for marker on every instance, so that errors of another copy
// of @roster/core (its CommonJS build beside the ESM one) are recognised where instanceof fails.
import { describe, expect, it } from 'vitest';
import {
  BackendAuthError,
  BackendUnavailableError,
  DiscoveryClosedError,
  DiscoveryError,
  InvalidNodeError,
  NodeNotRegisteredError,
} from '../src/errors.js';
import { NoNodesAvailableError } from '../src/strategies/no-nodes-available-error.js';

/** What an error of another copy of the package looks like here: other classes, the same marker. */
function fromAnotherCopy(error: DiscoveryError): object {
  const copy = Object.create(
    Object.getPrototypeOf(Object.getPrototypeOf(new Error('x'))) as object,
  ) as object;
  for (const key of Reflect.ownKeys(error))
    Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key) as PropertyDescriptor);
  return copy;
}

describe('DiscoveryError.isInstance', () => {
  it('recognises the class and its subclasses, not siblings or other values', () => {
    const error = new NodeNotRegisteredError('node "a" is not registered');
    expect(DiscoveryError.isInstance(error)).toBe(true);
    expect(NodeNotRegisteredError.isInstance(error)).toBe(true);
    expect(DiscoveryClosedError.isInstance(error)).toBe(false);
    expect(InvalidNodeError.isInstance(error)).toBe(false);
    for (const value of [new Error('x'), { code: 'ERR_NOT_REGISTERED' }, null, undefined, 'ERR_CLOSED', 3])
      expect(DiscoveryError.isInstance(value), String(value)).toBe(false);
  });

  it('works across copies of the package, where instanceof does not', () => {
    const copy = fromAnotherCopy(new BackendAuthError('refused', { failure: 'auth-refused' }));
    expect(copy instanceof DiscoveryError).toBe(false);
    expect(DiscoveryError.isInstance(copy)).toBe(true);
    expect(BackendAuthError.isInstance(copy)).toBe(true);
    expect(BackendUnavailableError.isInstance(copy)).toBe(false);
    expect((copy as BackendAuthError).code).toBe('ERR_BACKEND_AUTH');
  });

  it('covers subclasses declared outside errors.ts, and keeps the marker out of enumeration', () => {
    const error = new NoNodesAvailableError('none');
    expect(NoNodesAvailableError.isInstance(error)).toBe(true);
    expect(DiscoveryError.isInstance(error)).toBe(true);
    expect(InvalidNodeError.isInstance(error)).toBe(false);
    const closed = new DiscoveryClosedError();
    const marker = Object.getOwnPropertyDescriptor(closed, Symbol.for('@roster/core.DiscoveryError'));
    expect(marker?.enumerable).toBe(false);
    expect(JSON.stringify({ ...closed })).not.toMatch(/DiscoveryError/);
    expect(closed.name).toBe('DiscoveryClosedError');
  });
});
