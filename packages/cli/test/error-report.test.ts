import {
  BackendAuthError,
  BackendUnavailableError,
  DiscoveryError,
  InvalidNodeError,
  NodeNotRegisteredError,
} from '@roster/core';
import { describe, expect, it } from 'vitest';
import { reportError } from '../src/error-report.js';

/** An error as another copy of @roster/core makes it: the same marker, other classes. */
function fromAnotherCopy(error: DiscoveryError): Error {
  const copy = new Error(error.message);
  for (const key of Reflect.ownKeys(error))
    if (key !== 'stack') Object.defineProperty(copy, key, Object.getOwnPropertyDescriptor(error, key)!);
  return copy;
}

describe('reportError', () => {
  it('a refused login gets a credentials hint, not "is the server running?"', () => {
    const report = reportError(
      new BackendAuthError('redis at 127.0.0.1:6379 refused the password (WRONGPASS)'),
    );
    expect(report.hint).toMatch(/user and password/);
    expect(report.hint).not.toMatch(/running/);
    expect(report.exitCode).toBe(1);
  });

  it('a permission the user lacks gets a permissions hint, not a credentials one', () => {
    const report = reportError(
      new BackendAuthError('etcd denied permission while writing "a"', { failure: 'permission-denied' }),
    );
    expect(report.hint).toMatch(/permissions the backend README lists/);
    expect(report.hint).not.toMatch(/password/);
    expect(report.exitCode).toBe(1);
  });

  it('an unreachable server still asks whether it is running', () => {
    expect(reportError(new BackendUnavailableError('connection refused')).hint).toMatch(/running/);
  });

  it('recognises errors of another copy of core (isInstance), with the hint and exit code of their class', () => {
    const copy = fromAnotherCopy(new InvalidNodeError('id "a b" has a space'));
    expect(copy instanceof DiscoveryError).toBe(false);
    expect(reportError(copy)).toEqual({
      message: 'id "a b" has a space',
      hint: expect.stringMatching(/ids are 1-128/),
      exitCode: 2,
    });
    const unknownClass = reportError(new NodeNotRegisteredError('node "a" is not registered'));
    expect(unknownClass).toEqual({ message: 'node "a" is not registered', exitCode: 1 });
  });

  it("does not take an error for core's because its code looks like one", () => {
    const lookalike = Object.assign(new Error('socket closed'), { code: 'ERR_CLOSED' });
    expect(reportError(lookalike)).toEqual({
      message: 'socket closed',
      hint: 'run with --verbose for details',
      exitCode: 1,
    });
  });
});
