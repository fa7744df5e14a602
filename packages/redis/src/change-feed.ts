// The watches of one backend instance: a StreamWatch each on the namespace's change stream, every
// one stopped at close, and the single warning when the Redis user may not read that stream.
import type { Logger } from '@roster/core';
import type { BackendChange, BackendWatch } from '@roster/core/spi';
import { type AnyClient, feedConnection } from './redis-connection.js';
import type { StreamCursor } from './stream-cursor.js';
import { StreamWatch } from './stream-watch.js';

/** An idle feed costs one XREAD per BLOCK_MS per instance; a dead socket is noticed within BLOCK_MS + STALL_GRACE_MS. */
const BLOCK_MS = 10_000;
const STALL_GRACE_MS = 3_000;

/** Where the feeds of a backend instance read. */
export interface ChangeFeedOptions {
  readonly namespace: string;
  /** The change stream's key. */
  readonly stream: string;
  /** How long connecting a feed may take: the request timeout. */
  readonly connectTimeoutMs: number;
}

export class ChangeFeeds {
  private readonly watches = new Set<StreamWatch>();
  private refusalReported = false;

  constructor(private readonly options: ChangeFeedOptions) {}

  /** A watch from `cursor`, on a connection of its own made like `client`. */
  follow(
    client: AnyClient,
    cursor: StreamCursor,
    logger: Logger,
    onChange: (change: BackendChange) => void,
  ): BackendWatch {
    const watch: StreamWatch = new StreamWatch(
      {
        connect: () => feedConnection(client, this.options.namespace),
        stream: this.options.stream,
        cursor,
        logger,
        blockMs: BLOCK_MS,
        stallGraceMs: STALL_GRACE_MS,
        connectTimeoutMs: this.options.connectTimeoutMs,
        onStop: () => this.watches.delete(watch),
        onRefused: (error) => this.refused(error, logger),
      },
      onChange,
    );
    this.watches.add(watch);
    return watch;
  }

  /** Stops every open watch. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.watches].map((watch) => watch.stop()));
  }

  /**
   * Without `XREAD` every watch ends at its first read and core lists the namespace again, with
   * backoff: the views stay right but follow changes late, at the cost of a full read each time.
   * That is a misconfiguration to fix, said once per instance (core logs each resync at info).
   */
  private refused(error: unknown, logger: Logger): void {
    if (this.refusalReported) return;
    this.refusalReported = true;
    logger.warn(
      `the Redis user may not read the change stream (XREAD) of namespace "${this.options.namespace}": watchers fall back to listing it again, with backoff, instead of following changes (grant +xread, see the README)`,
      { error },
    );
  }
}
