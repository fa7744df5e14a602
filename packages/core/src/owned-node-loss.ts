// Noticing that a node this instance owns was lost (its record deleted, expired or replaced by
// another instance) and why, rules 3 and 6 of docs/guarantees.md; then registering it again if
// configured. The bookkeeping of what is owned stays in owned-nodes.ts.

import { type DiscoveryContext, newInstanceId } from './discovery-context.js';
import { NodeNotRegisteredError } from './errors.js';
import { nodeFrom } from './node-from.js';
import { OwnedDeletes } from './owned-deletes.js';
import type { Owned } from './owned-nodes.js';
import { decodeRecord, encodeRecord } from './record-codec.js';
import type { OwnNodeLostReason } from './types/discovery-options.js';
import type { NodeInfo } from './types/node-info.js';

/**
 * How long an owner whose heartbeat found its record gone waits for the feed to say whether it
 * expired or was deleted (the propagation bound of rule 1).
 */
const FEED_GRACE_MS = 1_000;

/** What handling a loss does to the owned-node book (owned-nodes.ts). */
export interface OwnedBook {
  get(id: string): Owned | undefined;
  /** Our record is in the store at `revision`: the book and the local view take it. */
  wrote(own: Owned, info: NodeInfo, revision: number): void;
  /** Owns `info` (a registration made again), heartbeats included. */
  adopt(info: NodeInfo, revision: number): void;
  /** No longer owns `id`: no more heartbeats. */
  disown(id: string): void;
}

/** Why owned ids were lost, and the work of finding out when a record moved or went. */
export class OwnedNodeLoss {
  /** Why ids this instance owned were lost, for the message of a later `heartbeat()`. */
  private readonly lostReasons = new Map<string, OwnNodeLostReason>();
  /** Deletes of owned records the feed reported, with their reason. */
  private readonly ownedDeletes = new OwnedDeletes();

  constructor(
    private readonly context: DiscoveryContext,
    private readonly book: OwnedBook,
  ) {}

  /** The feed (or a confirmed expiry) saw the record of owned `id` go, for `reason`. */
  noteDelete(id: string, reason: OwnNodeLostReason): void {
    this.ownedDeletes.note(id, reason);
  }

  /** `id` is owned afresh: an earlier loss or reported delete says nothing about its new record. */
  adopted(id: string): void {
    this.lostReasons.delete(id);
    this.ownedDeletes.forget(id);
  }

  /** `id` is no longer owned: a reported delete is of a record we gave up. */
  disowned(id: string): void {
    this.ownedDeletes.forget(id);
  }

  /** `id` was unregistered by this instance: no loss to report for it. */
  unregistered(id: string): void {
    this.lostReasons.delete(id);
  }

  /**
   * Reads an owned record whose revision moved. Still ours (a write whose answer we missed):
   * adopt it, revision and content. Someone else's: given up (`replaced`). Gone: lost, for the reason
   * `goneReason` finds, then registered again if configured.
   */
  async inspect(id: string, own: Owned): Promise<'ours' | 'lost'> {
    const current = await this.context.backend.get(id);
    if (this.book.get(id) !== own) return 'lost';
    if (current) {
      const decoded = decodeRecord(id, current.value);
      if (decoded.ok && decoded.node.instanceId === own.info.instanceId) {
        // Adopt the record as stored, content too: it is what every other instance sees. Keeping
        // our older content diverged for good on backends whose heartbeats write nothing (a
        // re-register that landed while its call failed, found by chaos on an etcd cluster).
        this.book.wrote(own, decoded.node, current.revision);
        // A delete the feed reported was of an older write: it says nothing about this record.
        this.ownedDeletes.forget(id);
        return 'ours';
      }
      await this.lose(id, own, 'replaced');
      return 'lost';
    }
    const reason = await this.goneReason(id);
    if (this.book.get(id) !== own) return 'lost';
    await this.lose(id, own, reason);
    return 'lost';
  }

  /** The error of a `heartbeat()` of an id this instance does not own, saying why if it was lost. */
  notOwned(id: string): NodeNotRegisteredError {
    const lost = this.lostReasons.get(id);
    return new NodeNotRegisteredError(
      lost
        ? `node "${id}" is no longer owned by this instance: it was lost (${lost}); register() it again`
        : `node "${id}" is not registered by this instance; heartbeat() only refreshes nodes this instance registered`,
    );
  }

  /**
   * Why an owned record is gone (rule 3: the owner sees `unregistered` like everyone else, even
   * when its heartbeat noticed before its feed did). The feed says why when it reports the delete,
   * so its reason is taken if it has come or comes within max(`FEED_GRACE_MS`, ttl) — a feed
   * lagging that far behind the store is in trouble anyway. Without it the loss is `expired`
   * (rule 6: `unregistered` only when an explicit delete was seen). Guessing
   * `unregistered` from the time since our last accepted write is wrong after a failover: a
   * promoted replica may have lost writes it had acknowledged (found by the chaos run on Sentinel).
   */
  private async goneReason(id: string): Promise<OwnNodeLostReason> {
    const noted = this.ownedDeletes.reasonOf(id);
    if (noted) return noted;
    const reported = await this.ownedDeletes.wait(
      id,
      Math.max(FEED_GRACE_MS, this.context.options.ttl),
      this.context.shutdown,
    );
    return reported ?? 'expired';
  }

  private async lose(id: string, own: Owned, reason: OwnNodeLostReason): Promise<void> {
    const { backend, logger, options, view } = this.context;
    this.book.disown(id);
    this.lostReasons.set(id, reason);
    this.context.metrics.ownedLost(reason);
    logger.warn(`owned node "${id}" was lost (${reason})`, { id, reason, instanceId: own.info.instanceId });
    // The store no longer holds our record: the local view must not keep showing it.
    if (reason !== 'replaced') {
      this.context.sweeper?.forget(id);
      view.applyDelete(id, undefined, reason, Date.now());
    }
    try {
      options.onOwnNodeLost?.(own.info, reason);
    } catch (error) {
      logger.error('onOwnNodeLost threw', { id, error });
    }
    if (reason === 'replaced' || !options.reregister || this.context.state !== 'open') return;
    const info = nodeFrom(own.info, newInstanceId(), Date.now(), Date.now());
    // Create-only: if another instance took the id meanwhile, the newer registration wins.
    const result = await backend.put(id, encodeRecord(info), { expectedRevision: null });
    if (!result.ok) {
      this.lostReasons.set(id, 'replaced');
      logger.info(`node "${id}" was taken by another instance before it could be registered again`, { id });
      return;
    }
    if (this.context.state !== 'open') return;
    this.book.adopt(info, result.revision);
    logger.info(`node "${id}" registered again`, { id, instanceId: info.instanceId });
  }
}
