/** Which server a handle stands for. */
export type ServiceKind = 'nats' | 'redis' | 'etcd';

/**
 * Where the server came from: a URL in the environment, a Testcontainers container, or a
 * server binary started by this package.
 */
export type ServiceSource = 'env' | 'container' | 'binary';

/**
 * A running server for one integration test run, with the faults a test may inject.
 *
 * @example
 * ```ts
 * const redis = await startRedis({ appendonly: true });
 * await redis.kill();     // SIGKILL, data dir kept
 * await redis.restart();  // same port, same data dir
 * await redis.stop();
 * ```
 */
export interface ServiceHandle {
  /** Client URL: `nats://127.0.0.1:PORT`, `redis://127.0.0.1:PORT`, `http://127.0.0.1:PORT` (etcd). No credentials in it. */
  readonly url: string;
  /** Which server this is. */
  readonly kind: ServiceKind;
  /** Where the server came from. Fault injection needs `container` or `binary`. */
  readonly source: ServiceSource;
  /**
   * Graceful stop (SIGTERM, SIGKILL after 10 s), then removes the temp dir. Idempotent.
   * A no-op for `env` handles: the server is not ours.
   */
  stop(): Promise<void>;
  /**
   * Stops the server (or picks it up after `kill()`) and starts it again on the same port with the
   * same data dir; resolves once it is ready. Data survives when the server persisted it.
   */
  restart(): Promise<void>;
  /** SIGKILL with no cleanup; resolves once the process has exited. The data dir is kept for `restart()`. */
  kill(): Promise<void>;
  /**
   * Freezes the server (SIGSTOP, or container pause) now and thaws it after `ms`; resolves after
   * it resumed. The freeze happens before the returned promise is handed back, so a test can call
   * `pause()` without awaiting and observe the frozen server meanwhile.
   */
  pause(ms: number): Promise<void>;
  /** Freezes the server (SIGSTOP, or container pause) until `resume()`. */
  suspend(): Promise<void>;
  /** Thaws a server frozen by `suspend()`; a no-op when it is not frozen. */
  resume(): Promise<void>;
}

/** A NATS handle also knows its HTTP monitoring endpoint (`/healthz`, `/jsz`, `/varz`). */
export interface NatsServiceHandle extends ServiceHandle {
  readonly kind: 'nats';
  /** `http://127.0.0.1:MONPORT`; undefined when the server came from `ROSTER_NATS_URL`. */
  readonly monitorUrl: string | undefined;
}

/** Options every `start*` function takes. */
export interface CommonStartOptions {
  /**
   * Directories searched for the server binary, in order.
   * Default: the entries of `PATH`, then `/usr/local/sbin`, `/usr/local/bin`, `/usr/sbin`, `/usr/bin`.
   */
  searchPath?: readonly string[];
  /** How long to wait for the server to become ready, in ms. Default 20 000. */
  startupTimeoutMs?: number;
}
