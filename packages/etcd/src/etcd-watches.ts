// The backend's open feeds: a watch from a list's cursor, the bookkeeping its changes update, and stopping them all at close.
import { InvalidOptionsError, type Logger } from '@roster/core';
import type { BackendChange, BackendWatch } from '@roster/core/spi';
import type { Etcd3 } from 'etcd3';
import { EtcdFeed } from './etcd-feed.js';
import type { HostHealth } from './host-health.js';
import type { KeyLayout } from './key-layout.js';
import type { NodeLeases } from './node-leases.js';
import type { ObservedWrites } from './observed-writes.js';

/** What a feed runs on, read when it starts (set by `open()`). */
export interface WatchContext {
  readonly client: Etcd3;
  readonly logger: Logger;
  readonly health: HostHealth | undefined;
  readonly observed: ObservedWrites | undefined;
}

/**
 * Every feed the backend opened and has not stopped. A change a feed delivers also updates what
 * the writes know: a deleted key's lease is forgotten, and under the `observed` plan the revision
 * each key was last seen at (its age is how observers time expiry).
 */
export class EtcdWatches {
  private readonly feeds = new Set<BackendWatch>();

  constructor(
    private readonly layout: KeyLayout,
    private readonly leases: NodeLeases,
  ) {}

  /** A feed from the revision after `cursor` (a `list()` cursor); `InvalidOptionsError` for anything else. */
  start(context: WatchContext, cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const from = Number(cursor);
    if (!Number.isSafeInteger(from) || from < 0)
      throw new InvalidOptionsError(`not an etcd cursor (list() returns one): ${JSON.stringify(cursor)}`);
    const { client, logger, health, observed } = context;
    const deliver = (change: BackendChange) => {
      if (change.type === 'delete') {
        this.leases.deletedAt(change.key, change.revision);
        observed?.forget(change.key, change.revision);
      } else if (change.type === 'put') observed?.seen(change.key, change.revision);
      onChange(change);
    };
    const feed = new EtcdFeed(client, this.layout, from + 1, deliver, logger, health);
    const handle: BackendWatch = {
      stop: async () => {
        this.feeds.delete(handle);
        await feed.stop();
      },
    };
    this.feeds.add(handle);
    return handle;
  }

  /** Stops every feed still open. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.feeds].map((feed) => feed.stop()));
  }
}
