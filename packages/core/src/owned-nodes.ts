// The nodes this instance owns: registering, heartbeating and unregistering them (rule 3 of
// docs/guarantees.md). Noticing that one was lost, and why, is owned-node-loss.ts.

import { deleteIfOurs } from './compare-and-set-delete.js';
import { type DiscoveryContext, newInstanceId } from './discovery-context.js';
import { DiscoveryClosedError } from './errors.js';
import { HeartbeatScheduler } from './heartbeat-scheduler.js';
import { CONFLICT } from './metrics/discovery-metrics.js';
import { nodeFrom } from './node-from.js';
import { OwnedNodeLoss } from './owned-node-loss.js';
import { encodeRecord } from './record-codec.js';
import type { DiscoveryBackend } from './spi/discovery-backend.js';
import type { OwnNodeLostReason } from './types/discovery-options.js';
import type { NodeInfo } from './types/node-info.js';
import type { NodeRegistration } from './types/node-registration.js';

/** What this instance knows about a node it owns: the record it last wrote and at which revision. */
export interface Owned {
  info: NodeInfo;
  revision: number;
  /** The heartbeat on its way to the store: its echo in the feed needs no decoding. */
  writing?: { readonly bytes: Uint8Array; readonly info: NodeInfo };
}

export class OwnedNodes {
  private readonly owned = new Map<string, Owned>();
  private readonly scheduler: HeartbeatScheduler;
  private readonly loss: OwnedNodeLoss;

  constructor(private readonly context: DiscoveryContext) {
    this.scheduler = new HeartbeatScheduler(context.options.heartbeatInterval, (id) => this.autoBeat(id));
    this.loss = new OwnedNodeLoss(context, {
      get: (id) => this.owned.get(id),
      wrote: (own, info, revision) => this.wrote(own, info, revision),
      adopt: (info, revision) => this.adopt(info, revision),
      disown: (id) => this.disown(id),
    });
  }

  get(id: string): Owned | undefined {
    return this.owned.get(id);
  }

  has(id: string): boolean {
    return this.owned.has(id);
  }

  ids(): string[] {
    return [...this.owned.keys()];
  }

  entries(): IterableIterator<[string, Owned]> {
    return this.owned.entries();
  }

  /** Close: no more heartbeats. */
  stopHeartbeats(): void {
    this.scheduler.stop();
  }

  /** Close: everything owned has been unregistered or given up. */
  clear(): void {
    this.owned.clear();
  }

  /** Registers (or updates) a validated registration; serialised per id. */
  register(registration: NodeRegistration): Promise<NodeInfo> {
    const { backend, backendName, perId, metrics } = this.context;
    const id = registration.id;
    const started = performance.now();
    const registered = perId.run(id, async () => {
      this.assertOpen();
      const own = this.owned.get(id);
      if (own) {
        const next = nodeFrom(registration, own.info.instanceId, own.info.registeredAt, Date.now());
        const result = await backend.put(id, encodeRecord(next), { expectedRevision: own.revision });
        if (result.ok) {
          this.wrote(own, next, result.revision);
          this.scheduler.postpone(id);
          return next;
        }
        // Someone else wrote the id since our last write: an explicit register takes it back.
        this.disown(id);
      }
      const info = nodeFrom(registration, newInstanceId(), Date.now(), Date.now());
      const result = await backend.put(id, encodeRecord(info));
      if (!result.ok) throw new Error(`backend ${backendName} refused an unconditional put of "${id}"`);
      this.adopt(info, result.revision);
      return info;
    });
    if (!metrics.enabled) return registered;
    return registered.then(
      (info) => {
        metrics.registered(performance.now() - started);
        return info;
      },
      (error: unknown) => {
        metrics.registered(performance.now() - started, error);
        throw error;
      },
    );
  }

  /** Unregisters any id; an owned one only if the store still holds our record (rule 3). */
  unregister(id: string): Promise<void> {
    const { backend, view, perId } = this.context;
    return perId.run(id, async () => {
      this.assertOpen();
      const own = this.owned.get(id);
      this.disown(id);
      let removed = true;
      try {
        if (own) removed = await deleteIfOurs(backend, id, own.revision, own.info.instanceId);
        else await backend.delete(id);
      } catch (error) {
        if (own && this.context.state === 'open') this.adopt(own.info, own.revision);
        throw error;
      }
      this.loss.unregistered(id);
      // Another instance's registration now: given up, and left to the feed (replaced, joined).
      if (!removed) return;
      this.context.sweeper?.forget(id);
      view.applyDelete(id, undefined, 'unregistered', Date.now());
    });
  }

  /** An explicit heartbeat; ownership is checked inside the queue, after a re-registration under way. */
  heartbeat(id: string, load: number | undefined): Promise<void> {
    return this.context.perId.run(id, () => this.beat(id, load, true));
  }

  /** The feed (or a confirmed expiry) saw the record of owned `id` go, for `reason`. */
  noteDelete(id: string, reason: OwnNodeLostReason): void {
    this.loss.noteDelete(id, reason);
    this.check(id);
  }

  /** Looks into owned `id` (its record moved or went) in the background, queued behind its operations. */
  check(id: string): void {
    const own = this.owned.get(id);
    if (!own) return;
    void this.context.perId
      .run(id, async () => {
        if (this.owned.get(id) === own && this.context.state === 'open') await this.loss.inspect(id, own);
      })
      .catch((error) => this.context.logger.warn(`could not check owned node "${id}"`, { id, error }));
  }

  private adopt(info: NodeInfo, revision: number): void {
    const own: Owned = { info, revision };
    this.owned.set(info.id, own);
    this.loss.adopted(info.id);
    this.wrote(own, info, revision);
    if (this.context.options.autoHeartbeat) this.scheduler.start(info.id);
  }

  private disown(id: string): void {
    this.owned.delete(id);
    this.scheduler.cancel(id);
    this.loss.disowned(id);
  }

  /**
   * Our own write landed: the local view shows it at once (the feed's echo is then a no-op).
   * A `renewed` write is a plain heartbeat on a backend with silent heartbeats: the revision did
   * not move, and the view still takes the new `lastSeen`.
   */
  private wrote(own: Owned, info: NodeInfo, revision: number, renewed = false): void {
    own.info = info;
    own.revision = revision;
    const now = Date.now();
    const { view } = this.context;
    const applied = renewed ? view.applyRenewal(info, revision, now) : view.applyPut(info, revision, now);
    if (applied) this.context.sweeper?.seen(info.id, now);
  }

  private async autoBeat(id: string): Promise<void> {
    try {
      await this.context.perId.run(id, () => this.beat(id, undefined, false));
    } catch (error) {
      this.context.logger.warn(`heartbeat of "${id}" failed; retrying at the next interval`, { id, error });
    }
  }

  /** One compare-and-set heartbeat; a conflict is looked into, never overwritten. */
  private async beat(id: string, load: number | undefined, explicit: boolean): Promise<void> {
    const { backend } = this.context;
    if (this.context.state !== 'open') {
      if (explicit) throw new DiscoveryClosedError();
      return;
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      const own = this.owned.get(id);
      if (!own) {
        if (explicit) throw this.loss.notOwned(id);
        return;
      }
      const next: NodeInfo = Object.freeze({
        ...own.info,
        load: load ?? own.info.load,
        lastSeen: Date.now(),
      });
      const refreshOnly = next.load === own.info.load;
      const bytes = encodeRecord(next);
      own.writing = { bytes, info: next };
      let result: Awaited<ReturnType<DiscoveryBackend['put']>>;
      const { metrics } = this.context;
      // Timed only when measured: two clock reads per heartbeat are not free at 100,000/s.
      const started = metrics.enabled ? performance.now() : 0;
      try {
        result = await backend.put(id, bytes, { expectedRevision: own.revision, refreshOnly });
      } catch (error) {
        if (metrics.enabled) metrics.heartbeat(performance.now() - started, error);
        throw error;
      } finally {
        own.writing = undefined;
      }
      if (metrics.enabled) metrics.heartbeat(performance.now() - started, result.ok ? undefined : CONFLICT);
      if (this.owned.get(id) !== own) continue;
      if (result.ok) {
        // With supports.silentHeartbeats a refreshOnly put answers with the unchanged revision:
        // a success like any other, not a conflict.
        const renewed = refreshOnly && backend.supports.silentHeartbeats === true;
        this.wrote(own, next, result.revision, renewed);
        return;
      }
      if ((await this.loss.inspect(id, own)) === 'lost') {
        if (explicit && !this.owned.has(id)) throw this.loss.notOwned(id);
        return;
      }
    }
  }

  private assertOpen(): void {
    if (this.context.state !== 'open') throw new DiscoveryClosedError();
  }
}
