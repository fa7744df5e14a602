// The backend authors' toolkit (`@roster/core/spi`): pure logic, fake timers, no network.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BackendAuthError,
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryClosedError,
  InvalidOptionsError,
} from '../src/errors.js';
import { resolveOptions } from '../src/resolve-options.js';
import {
  BackendLifecycle,
  backendErrorMapper,
  choiceOption,
  type DiscoveryBackend,
  delay,
  exclusiveOptions,
  invalidCursor,
  networkFailureOf,
  numberOption,
  requestTimedOut,
  revisionCursor,
  withDeadline,
} from '../src/spi/index.js';

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('numberOption', () => {
  it('returns the fallback for undefined and the value when it is allowed', () => {
    expect(numberOption('history', undefined, { fallback: 5, min: 1, max: 64 })).toBe(5);
    expect(numberOption('history', 64, { fallback: 5, min: 1, max: 64 })).toBe(64);
    expect(numberOption('connectTimeout', 0.5, { fallback: 5_000, above: 0, integer: false })).toBe(0.5);
  });

  it.each([
    [0, { fallback: 5, min: 1, max: 64 }, 'history must be a whole number from 1 to 64, got 0'],
    [65, { fallback: 5, min: 1, max: 64 }, 'history must be a whole number from 1 to 64, got 65'],
    [1.5, { fallback: 5, min: 1 }, 'history must be a whole number >= 1, got 1.5'],
    ['3', { fallback: 5, min: 1 }, 'history must be a whole number >= 1, got "3"'],
    [Number.NaN, { fallback: 5, min: 1 }, 'history must be a whole number >= 1, got NaN'],
    [
      0,
      { fallback: 5_000, above: 0, integer: false, unit: 'ms' },
      'history must be a number of ms > 0, got 0',
    ],
    [
      Number.POSITIVE_INFINITY,
      { fallback: 5_000, above: 0, integer: false, unit: 'ms' },
      'history must be a number of ms > 0, got Infinity',
    ],
  ] as const)(
    'rejects %s with InvalidOptionsError naming the option and the range',
    (value, rule, message) => {
      const error = thrown(() => numberOption('history', value, rule));
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as Error).message).toBe(message);
    },
  );
});

describe('choiceOption and exclusiveOptions', () => {
  it('choiceOption takes one of the choices, or the fallback', () => {
    const choices = ['file', 'memory'] as const;
    expect(choiceOption('storage', undefined, choices, 'file')).toBe('file');
    expect(choiceOption('storage', 'memory', choices, 'file')).toBe('memory');
    const error = thrown(() => choiceOption('storage', 'disk', choices, 'file'));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toBe('storage must be "file" or "memory", got "disk"');
  });

  it('exclusiveOptions refuses both groups given, naming what was given', () => {
    expect(() => exclusiveOptions({ client: {} }, { url: undefined, host: undefined })).not.toThrow();
    expect(() => exclusiveOptions({ client: undefined }, { url: 'redis://x' })).not.toThrow();
    const error = thrown(() => exclusiveOptions({ client: {} }, { url: 'redis://x', host: 'h' }));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toBe(
      'give either client or url, host, not both (got client, url, host)',
    );
  });
});

describe('backendErrorMapper', () => {
  const toBackendError = backendErrorMapper({
    server: 'mystore at 10.0.0.1',
    classify: (_, message) =>
      /WRONGPASS/.test(message) ? 'auth-refused' : /NOPERM/.test(message) ? 'permission-denied' : undefined,
    hints: { 'auth-refused': 'check the password', 'permission-denied': 'see the README for the ACL' },
  });

  it('tells auth refused and permission denied apart, as BackendAuthError', () => {
    const auth = toBackendError(new Error('WRONGPASS invalid password'), 'opening the namespace');
    expect(auth).toBeInstanceOf(BackendAuthError);
    expect(auth).toMatchObject({
      failure: 'auth-refused',
      message:
        'mystore at 10.0.0.1 refused the credentials while opening the namespace: WRONGPASS invalid password; check the password',
    });
    const denied = toBackendError(new Error('NOPERM no permissions'), 'writing "a"');
    expect(denied).toBeInstanceOf(BackendAuthError);
    expect(denied).toMatchObject({ failure: 'permission-denied' });
    expect(denied.message).toMatch(/denied permission while writing "a".*see the README for the ACL$/);
  });

  it('tells unreachable and timed out apart, as BackendUnavailableError, keeping the cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:1'), { code: 'ECONNREFUSED' });
    const unreachable = toBackendError(refused, 'listing');
    expect(unreachable).toBeInstanceOf(BackendUnavailableError);
    expect(unreachable).toMatchObject({ failure: 'unreachable', cause: refused });
    expect(unreachable.message).toMatch(/^mystore at 10\.0\.0\.1 could not be reached while listing: /);
    const late = toBackendError(new Error('x', { cause: { code: 'nope' } }), 'reading');
    expect(late).toMatchObject({ failure: 'unreachable' });
    const timedOut = toBackendError(new Error('outer', { cause: new Error('request timed out') }), 'reading');
    expect(timedOut).toBeInstanceOf(BackendUnavailableError);
    expect(timedOut).toMatchObject({ failure: 'timed-out' });
    expect(toBackendError('a string', 'reading')).toMatchObject({ failure: 'unreachable' });
  });

  it("passes Roster's own errors through unchanged", () => {
    const mismatch = new ConfigMismatchError('ttl differs');
    expect(toBackendError(mismatch, 'opening')).toBe(mismatch);
  });

  it('networkFailureOf reads Node error codes and timeouts, else undefined', () => {
    expect(networkFailureOf(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe('unreachable');
    expect(networkFailureOf(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }))).toBe('timed-out');
    expect(networkFailureOf(Object.assign(new Error('x'), { name: 'TimeoutError' }))).toBe('timed-out');
    expect(networkFailureOf(new Error('permission denied'))).toBeUndefined();
    expect(networkFailureOf(undefined)).toBeUndefined();
  });
});

describe('BackendLifecycle', () => {
  it('open, operate, close: close is idempotent and operations after it are DiscoveryClosedError', () => {
    const lifecycle = new BackendLifecycle('mystore');
    expect(thrown(() => lifecycle.assertOpen())).toBeInstanceOf(DiscoveryClosedError);
    lifecycle.beginOpen();
    expect(lifecycle.state).toBe('opening');
    lifecycle.opened();
    expect(lifecycle.isOpen).toBe(true);
    expect(() => lifecycle.assertOpen()).not.toThrow();
    expect(lifecycle.beginClose()).toBe(true);
    expect(lifecycle.beginClose()).toBe(false);
    expect(lifecycle.isClosed).toBe(true);
    const error = thrown(() => lifecycle.assertOpen());
    expect(error).toBeInstanceOf(DiscoveryClosedError);
    expect((error as Error).message).toBe('the mystore backend is closed');
  });

  it('opening twice is InvalidOptionsError; opening after close is DiscoveryClosedError', () => {
    const twice = new BackendLifecycle('mystore');
    twice.beginOpen();
    twice.opened();
    const error = thrown(() => twice.beginOpen());
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toMatch(/already opened.*one backend per createDiscovery\(\)/);
    const closed = new BackendLifecycle('mystore');
    closed.beginClose();
    expect(thrown(() => closed.beginOpen())).toBeInstanceOf(DiscoveryClosedError);
  });

  it('a close() during open() makes the rest of open() fail with DiscoveryClosedError', () => {
    const lifecycle = new BackendLifecycle('mystore');
    lifecycle.beginOpen();
    lifecycle.beginClose();
    const error = thrown(() => lifecycle.opened());
    expect(error).toBeInstanceOf(DiscoveryClosedError);
    expect((error as Error).message).toBe('the mystore backend was closed while opening');
    expect(lifecycle.isOpen).toBe(false);
  });
});

describe('revisionCursor and invalidCursor', () => {
  it('reads the revisions list() returns, and refuses anything else with InvalidOptionsError', () => {
    expect(revisionCursor('mystore', '0')).toBe(0);
    expect(revisionCursor('mystore', '12345')).toBe(12_345);
    for (const cursor of ['', '-1', '1.5', '1e3', ' 1', 'abc', '99999999999999999']) {
      const error = thrown(() => revisionCursor('mystore', cursor));
      expect(error, cursor).toBeInstanceOf(InvalidOptionsError);
      expect((error as Error).message).toBe(
        `not a mystore cursor: ${JSON.stringify(cursor)}; a cursor is a revision (a whole number >= 0), as list() returns it`,
      );
    }
    expect(invalidCursor('redis', 'x', 'a stream id and a revision').message).toBe(
      'not a redis cursor: "x"; a cursor is a stream id and a revision, as list() returns it',
    );
  });
});

describe('withDeadline', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('settles with the work when it is in time, and leaves no timer', async () => {
    vi.useFakeTimers();
    await expect(withDeadline(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
    await expect(
      withDeadline(Promise.reject(new Error('no')), 1_000, () => new Error('late')),
    ).rejects.toThrow('no');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with onTimeout() after ms when the work never settles', async () => {
    vi.useFakeTimers();
    const never = new Promise<number>(() => {});
    const result = withDeadline(never, 1_000, () =>
      requestTimedOut({ server: 'mystore', what: 'reading "a"', timeout: 1_000 }),
    );
    const settled = expect(result).rejects.toMatchObject({
      failure: 'timed-out',
      message:
        'mystore did not answer within 1000 ms (requestTimeout) while reading "a": the server is frozen, overloaded or unreachable',
    });
    await vi.advanceTimersByTimeAsync(999);
    await vi.advanceTimersByTimeAsync(1);
    await settled;
    await expect(result).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('passes the absolute deadline to a work function; a synchronous throw rejects and clears the timer', async () => {
    vi.useFakeTimers({ now: 10_000 });
    await expect(
      withDeadline(
        (deadline) => Promise.resolve(deadline),
        500,
        () => new Error('late'),
      ),
    ).resolves.toBe(10_500);
    await expect(
      withDeadline(
        () => {
          throw new Error('sync');
        },
        500,
        () => new Error('late'),
      ),
    ).rejects.toThrow('sync');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('delay resolves after ms, at once for 0', async () => {
    vi.useFakeTimers();
    let done = false;
    void delay(100).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    await expect(delay(0)).resolves.toBeUndefined();
  });
});

describe('specificationVersion', () => {
  const backend = (specificationVersion?: string) =>
    ({
      name: 'mystore',
      ...(specificationVersion !== undefined ? { specificationVersion } : {}),
      open: async () => {},
      put: async () => ({ ok: false }),
    }) as unknown as DiscoveryBackend;

  it('core takes a backend of SPI v1, or one that does not say', () => {
    expect(() => resolveOptions({ backend: backend('v1') })).not.toThrow();
    expect(() => resolveOptions({ backend: backend() })).not.toThrow();
  });

  it('core refuses a backend of another SPI version with InvalidOptionsError', () => {
    const error = thrown(() => resolveOptions({ backend: backend('v2') }));
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as Error).message).toBe(
      'the mystore backend implements SPI "v2"; this @roster/core implements "v1"',
    );
  });
});
