import { setTimeout as delay } from 'node:timers/promises';
import type { ServiceHandle, ServiceKind } from './service-handle.js';

/**
 * What a server this package started (a binary or a container) has in common: stop, restart
 * and kill run one after another and never after stop(); pause is suspend, a wait, resume.
 * Subclasses say how each step is done for their kind of server.
 */
export abstract class ManagedServiceHandle<Ports> implements ServiceHandle {
  abstract readonly source: 'binary' | 'container';
  #stopped: Promise<void> | undefined;
  // stop/restart/kill queue; suspend/resume are single signals and do not.
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly kind: ServiceKind,
    readonly url: string,
    readonly ports: Ports,
  ) {}

  stop(): Promise<void> {
    this.#stopped ??= this.#enqueue(() => this.shutDown());
    return this.#stopped;
  }

  restart(): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertNotStopped('restart');
      await this.startAgain();
    });
  }

  kill(): Promise<void> {
    return this.#enqueue(async () => {
      this.#assertNotStopped('kill');
      await this.killNow();
    });
  }

  /** Suspends before the returned promise is handed back (see ServiceHandle.pause). */
  async pause(ms: number): Promise<void> {
    await this.suspend();
    try {
      await delay(ms);
    } finally {
      await this.resume();
    }
  }

  abstract suspend(): Promise<void>;
  abstract resume(): Promise<void>;
  /** Graceful stop and cleanup (stop() calls it once). */
  protected abstract shutDown(): Promise<void>;
  /** Stop if running, then start on the same ports with the same data; resolve once ready. */
  protected abstract startAgain(): Promise<void>;
  /** SIGKILL; resolve once it exited. */
  protected abstract killNow(): Promise<void>;

  #assertNotStopped(operation: string): void {
    if (this.#stopped)
      throw new Error(`cannot ${operation} ${this.kind} at ${this.url}: it was stopped with stop()`);
  }

  #enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
