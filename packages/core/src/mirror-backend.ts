import { type BackendDiff, diffBackends } from './backend-diff.js';
import type {
  BackendChange,
  BackendOpenContext,
  BackendWatch,
  DiscoveryBackend,
  PutOptions,
  PutResult,
  WriteCondition,
} from './spi/discovery-backend.js';
import { type Logger, silentLogger } from './types/logger.js';

/** Options of {@link mirrorBackend}. */
export interface MirrorBackendOptions {
  /** Serves every read and watch, decides every write. */
  primary: DiscoveryBackend;
  /** Receives a copy of every successful write; its failures are logged and counted, never raised. */
  secondary: DiscoveryBackend;
}

/** What the mirror has done to the secondary so far. */
export interface MirrorStats {
  readonly secondaryWrites: number;
  readonly secondaryFailures: number;
  readonly lastSecondaryError: unknown;
  /** Writes queued for the secondary and not yet done. */
  readonly pending: number;
}

/** A backend that dual-writes; see {@link mirrorBackend}. */
export interface MirrorBackend extends DiscoveryBackend {
  /** Counters of the secondary's writes and failures. */
  readonly stats: MirrorStats;
  /** Waits for queued secondary writes, then compares both stores. */
  verify(): Promise<BackendDiff>;
}

const SECONDARY_RETRY_MS = 5_000;

/**
 * Dual-writes to two backends for a live migration: reads and watches come from the primary,
 * every write the primary accepted is copied to the secondary in order. The secondary can be
 * down, slow or misconfigured without failing the application: its errors are logged and counted
 * (`stats`), and `verify()` reports how far the two stores differ.
 *
 * @example
 * ```ts
 * const backend = mirrorBackend({ primary: redisBackend({ url }), secondary: natsBackend({ servers }) });
 * const discovery = await createDiscovery({ backend });
 * // … later: (await backend.verify()).equal === true → switch reads to NATS.
 * ```
 */
export function mirrorBackend(options: MirrorBackendOptions): MirrorBackend {
  return new Mirror(options.primary, options.secondary);
}

class Mirror implements MirrorBackend {
  private logger: Logger = silentLogger;
  private context: BackendOpenContext | undefined;
  private secondaryOpen: Promise<boolean> | undefined;
  private secondaryRetryAt = 0;
  private queue: Promise<void> = Promise.resolve();
  private counters = {
    secondaryWrites: 0,
    secondaryFailures: 0,
    lastSecondaryError: undefined as unknown,
    pending: 0,
  };

  constructor(
    private readonly primary: DiscoveryBackend,
    private readonly secondary: DiscoveryBackend,
  ) {}

  get name(): string {
    return this.primary.name;
  }

  /** The primary's: metrics of a mirrored instance are labelled like the backend it reads. */
  get namespace(): string | undefined {
    return this.primary.namespace;
  }

  get supports() {
    return this.primary.supports;
  }

  get stats(): MirrorStats {
    return { ...this.counters };
  }

  async open(context: BackendOpenContext): Promise<void> {
    this.context = context;
    this.logger = context.logger;
    await this.primary.open(context);
    await this.openSecondary();
  }

  async put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
    const result = await this.primary.put(key, value, options);
    // Revisions differ between stores: the copy is unconditional, in the primary's order.
    if (result.ok) this.copy(`put ${key}`, (s) => s.put(key, value, { refreshOnly: options?.refreshOnly }));
    return result;
  }

  async delete(key: string, condition?: WriteCondition): Promise<boolean> {
    const deleted = await this.primary.delete(key, condition);
    if (deleted) this.copy(`delete ${key}`, (s) => s.delete(key));
    return deleted;
  }

  get(key: string) {
    return this.primary.get(key);
  }

  list() {
    return this.primary.list();
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    return this.primary.watch(cursor, onChange);
  }

  get history() {
    return this.primary.history
      ? (key: string, limit: number) => this.primary.history!(key, limit)
      : undefined;
  }

  async verify(): Promise<BackendDiff> {
    await this.queue;
    if (!(await this.openSecondary()))
      throw new Error('the secondary backend is not open; see the logged errors');
    return diffBackends(this.primary, this.secondary);
  }

  async close(): Promise<void> {
    await this.queue;
    await Promise.allSettled([this.primary.close(), this.secondaryOpen ? this.secondary.close() : undefined]);
  }

  private openSecondary(): Promise<boolean> {
    if (!this.secondaryOpen && this.context && Date.now() >= this.secondaryRetryAt) {
      const context = this.context;
      this.secondaryOpen = this.secondary.open(context).then(
        () => true,
        (error) => {
          this.failed('open', error);
          this.secondaryOpen = undefined;
          this.secondaryRetryAt = Date.now() + SECONDARY_RETRY_MS;
          return false;
        },
      );
    }
    return this.secondaryOpen ?? Promise.resolve(false);
  }

  private copy(what: string, write: (secondary: DiscoveryBackend) => Promise<unknown>): void {
    this.counters.pending += 1;
    this.queue = this.queue.then(async () => {
      try {
        if (!(await this.openSecondary())) throw new Error('the secondary backend is not open');
        await write(this.secondary);
        this.counters.secondaryWrites += 1;
      } catch (error) {
        this.failed(what, error);
      } finally {
        this.counters.pending -= 1;
      }
    });
  }

  private failed(what: string, error: unknown): void {
    this.counters.secondaryFailures += 1;
    this.counters.lastSecondaryError = error;
    this.logger.warn(
      `mirror: the secondary ${this.secondary.name} backend failed (${what}); the primary goes on`,
      {
        error,
      },
    );
  }
}
