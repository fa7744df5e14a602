// The test kit every backend's tests share, and a custom backend author's tests may use too: a
// fresh namespace per test, a logger that keeps what it was told, and an open() that closes what it
// opened when the test ends. Backend-independent; servers and owner processes are the test's own.
import { onTestFinished as currentTestFinished } from 'vitest';
import type { Logger } from '../types/logger.js';

let counter = 0;

/**
 * A namespace no other test (in this file or a parallel one) uses: `prefix`, the time, a random
 * part and a counter — letters, digits and whatever `prefix` holds, so with a prefix of letters,
 * digits and `_` it is valid on every backend.
 *
 * @example
 * ```ts
 * import { freshNamespace } from '@roster/core/conformance';
 * const backend = myBackend({ namespace: freshNamespace('orders') }); // e.g. 'ordersmfx3k2q9a1'
 * ```
 */
export function freshNamespace(prefix = 't'): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}${counter.toString(36)}`;
}

/** The level of one {@link CapturedLog}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One call of a {@link captureLogger}. */
export interface CapturedLog {
  readonly level: LogLevel;
  readonly message: string;
  /** The details argument, when the call passed one. */
  readonly fields?: Record<string, unknown>;
}

/** A {@link Logger} that keeps every call: `entries` in order, `warnings` the warn and error messages. */
export interface CapturedLogger extends Logger {
  readonly entries: CapturedLog[];
  readonly warnings: string[];
}

/**
 * A logger (Roster's `Logger` shape) that keeps what it was told, for tests that check what a
 * backend or core reported — foreign data skipped, a reconnect, a retry.
 *
 * @example
 * ```ts
 * import { captureLogger } from '@roster/core/conformance';
 * const logger = captureLogger();
 * await backend.open({ ttl: 1_000, logger });
 * // ... write a foreign value into the store ...
 * expect(logger.warnings.some((w) => w.includes('foreign'))).toBe(true);
 * expect(logger.entries.filter((e) => e.level === 'info')).toHaveLength(0);
 * ```
 */
export function captureLogger(): CapturedLogger {
  const entries: CapturedLog[] = [];
  const warnings: string[] = [];
  const at = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    entries.push(fields === undefined ? { level, message } : { level, message, fields });
    if (level === 'warn' || level === 'error') warnings.push(message);
  };
  return { entries, warnings, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Anything closed like a discovery (`close({ unregister: false })`) or a backend (`close()`). */
export interface Closable {
  close(options?: { unregister?: boolean }): Promise<void>;
}

/** The `onTestFinished` of a vitest test context. */
export type OnTestFinished = (fn: () => Promise<void> | void, timeout?: number) => void;

/**
 * Opens with `create()` and closes what it made when the current test ends, passed or failed,
 * without unregistering (a discovery's nodes are left to expire in its fresh namespace), and
 * ignoring a failed close: the test's own assertions are what it reports. In `it.concurrent`
 * cases pass the test context's `onTestFinished` (vitest's global one may belong to another case).
 *
 * @example
 * ```ts
 * import { createDiscovery } from '@roster/core';
 * import { freshNamespace, open } from '@roster/core/conformance';
 *
 * it('sees its own node', async () => {
 *   const discovery = await open(() =>
 *     createDiscovery({ backend: myBackend({ namespace: freshNamespace() }), ttl: 1_000 }),
 *   );
 *   await discovery.register({ id: 'a' });
 *   expect(discovery.get('a')).toBeDefined();
 * }); // closed here
 * ```
 */
export async function open<T extends Closable>(
  create: () => Promise<T>,
  onTestFinished: OnTestFinished = currentTestFinished,
): Promise<T> {
  const opened = await create();
  onTestFinished(() => opened.close({ unregister: false }).catch(() => {}));
  return opened;
}
