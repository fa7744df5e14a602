// The open/closed state of a backend instance, checked the same way on every backend: opening
// twice fails alike everywhere, an operation before open() or after close() is
// `DiscoveryClosedError`, and close() is idempotent (rule 13 of docs/guarantees.md).

import { DiscoveryClosedError, InvalidOptionsError } from '../errors.js';

export type BackendState = 'new' | 'opening' | 'open' | 'closed';

/**
 * Keeps a backend's state and throws the common errors. A backend calls `beginOpen()` first
 * thing in `open()`, `assertOpening()` after each await of its set-up (a `close()` may have run
 * meanwhile), `opened()` at the end, `assertOpen()` in every operation, and returns from
 * `close()` at once when `beginClose()` says it already ran.
 *
 * @example
 * ```ts
 * import { BackendLifecycle } from '@roster/core/spi';
 *
 * class MyBackend implements DiscoveryBackend {
 *   private readonly lifecycle = new BackendLifecycle('mystore');
 *   async open(context: BackendOpenContext) {
 *     this.lifecycle.beginOpen();
 *     this.client = await connect();
 *     this.lifecycle.opened(); // throws DiscoveryClosedError if close() ran while connecting
 *   }
 *   async get(key: string) {
 *     this.lifecycle.assertOpen();
 *     …
 *   }
 *   async close() {
 *     if (!this.lifecycle.beginClose()) return;
 *     await this.client?.close();
 *   }
 * }
 * ```
 */
export class BackendLifecycle {
  private current: BackendState = 'new';

  /** @param backendName the backend's `name`, for messages. */
  constructor(private readonly backendName: string) {}

  get state(): BackendState {
    return this.current;
  }

  get isOpen(): boolean {
    return this.current === 'open';
  }

  get isClosed(): boolean {
    return this.current === 'closed';
  }

  /**
   * Start of `open()`. A backend instance is opened once: it serves one discovery instance, and
   * a second `open()` (the same backend given to two `createDiscovery` calls) is a misuse
   * reported as `InvalidOptionsError`; after `close()` it is `DiscoveryClosedError`.
   */
  beginOpen(): void {
    if (this.current === 'closed')
      throw new DiscoveryClosedError(`the ${this.backendName} backend is closed; create a new one`);
    if (this.current !== 'new')
      throw new InvalidOptionsError(
        `the ${this.backendName} backend was already opened; a backend serves one discovery instance: create one backend per createDiscovery()`,
      );
    this.current = 'opening';
  }

  /** During `open()`, after an await: `DiscoveryClosedError` if `close()` ran meanwhile. */
  assertOpening(): void {
    if (this.current !== 'opening')
      throw new DiscoveryClosedError(`the ${this.backendName} backend was closed while opening`);
  }

  /** End of a successful `open()`. */
  opened(): void {
    this.assertOpening();
    this.current = 'open';
  }

  /** Every operation: `DiscoveryClosedError` unless the backend is open. */
  assertOpen(): void {
    if (this.current === 'open') return;
    throw new DiscoveryClosedError(
      this.current === 'closed'
        ? `the ${this.backendName} backend is closed`
        : `the ${this.backendName} backend is not open; call open() first`,
    );
  }

  /** Start of `close()`: `true` the first time, `false` when close already ran (return at once). */
  beginClose(): boolean {
    if (this.current === 'closed') return false;
    this.current = 'closed';
    return true;
  }
}
