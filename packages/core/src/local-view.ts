import { differsBeyondLastSeen } from './record-codec.js';
import type { LeaveReason, NodeChangeEvent } from './types/node-change-event.js';
import type { NodeInfo } from './types/node-info.js';

/** A node in the local view, with the store revision it was read at and when this process saw it. */
export interface ViewEntry {
  readonly node: NodeInfo;
  readonly revision: number;
  /** Local epoch ms of the write's arrival (or an estimate from `lastSeen` for listed nodes). */
  readonly receivedAt: number;
}

interface Tombstone {
  /** Revision of the delete, or of the last put seen when a local delete had none. */
  readonly revision: number;
  /** Set for a delete applied locally before the feed reported it: later puts of this instance are stale. */
  readonly instanceId?: string;
}

const MAX_TOMBSTONES = 10_000;

/**
 * This process's picture of the namespace. Every change goes through here and comes out as the
 * events watchers see, so ordering and de-duplication are decided in one place: a change older
 * than what the view holds (by revision) is dropped, and a put of a node already deleted is too.
 */
export class LocalView {
  private readonly entries = new Map<string, ViewEntry>();
  private readonly tombstones = new Map<string, Tombstone>();

  constructor(
    private readonly emit: (event: NodeChangeEvent) => void,
    private readonly ttl: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  entry(id: string): ViewEntry | undefined {
    return this.entries.get(id);
  }

  nodes(): IterableIterator<NodeInfo> {
    const values = this.entries.values();
    return (function* () {
      for (const entry of values) yield entry.node;
    })();
  }

  /** Applies a put read at `revision`; returns false when it was stale and ignored. */
  applyPut(node: NodeInfo, revision: number, receivedAt: number): boolean {
    const known = this.entries.get(node.id);
    if (known) {
      if (revision <= known.revision) return false;
    } else {
      const tomb = this.tombstones.get(node.id);
      if (tomb && (revision <= tomb.revision || tomb.instanceId === node.instanceId)) return false;
      this.tombstones.delete(node.id);
    }
    this.entries.set(node.id, { node, revision, receivedAt: Math.max(receivedAt, known?.receivedAt ?? 0) });
    this.announce(known, node, receivedAt);
    return true;
  }

  /**
   * Applies a delete. `revision` is the delete's own revision when known; without it (a local
   * delete, an expiry confirmed by a read) later puts of the same instance are treated as stale.
   * `reason` is inferred when the store did not say: a node past its TTL expired, else it was removed.
   */
  applyDelete(
    id: string,
    revision: number | undefined,
    reason: LeaveReason | undefined,
    now: number,
  ): { node: NodeInfo; reason: LeaveReason } | undefined {
    const known = this.entries.get(id);
    if (revision !== undefined) {
      if (known && revision <= known.revision) return undefined;
      const tomb = this.tombstones.get(id);
      if (!known && tomb && revision <= tomb.revision && tomb.instanceId === undefined) return undefined;
      this.bury(id, { revision });
    } else if (known) {
      this.bury(id, { revision: known.revision, instanceId: known.node.instanceId });
    }
    if (!known) return undefined;
    this.entries.delete(id);
    const why = reason ?? this.inferReason(known, now);
    this.emit({ type: 'left', node: known.node, reason: why });
    return { node: known.node, reason: why };
  }

  /**
   * Makes the view equal to a fresh snapshot (start, or continuity lost): nodes missing from it
   * left (expired), new ones joined, changed ones updated or replaced.
   */
  reconcile(snapshot: readonly { node: NodeInfo; revision: number }[], now: number): void {
    const seen = new Set<string>();
    this.tombstones.clear();
    for (const { node, revision } of snapshot) {
      seen.add(node.id);
      const known = this.entries.get(node.id);
      const estimate = Math.min(now, Math.max(node.lastSeen, now - this.ttl));
      const receivedAt =
        known && known.node.instanceId === node.instanceId && known.node.lastSeen === node.lastSeen
          ? known.receivedAt
          : estimate;
      this.entries.set(node.id, { node, revision, receivedAt });
      this.announce(known, node, now);
    }
    for (const [id, known] of [...this.entries]) {
      if (seen.has(id)) continue;
      this.entries.delete(id);
      this.emit({ type: 'left', node: known.node, reason: 'expired' });
    }
  }

  private announce(known: ViewEntry | undefined, node: NodeInfo, now: number): void {
    if (!known) {
      this.emit({ type: 'joined', node });
    } else if (known.node.instanceId !== node.instanceId) {
      const overdue = known.receivedAt + this.ttl <= now;
      this.emit({ type: 'left', node: known.node, reason: overdue ? 'expired' : 'replaced' });
      this.emit({ type: 'joined', node });
    } else if (differsBeyondLastSeen(known.node, node)) {
      this.emit({ type: 'updated', node, previous: known.node });
    }
  }

  private inferReason(known: ViewEntry, now: number): LeaveReason {
    return known.receivedAt + this.ttl * 0.9 <= now ? 'expired' : 'unregistered';
  }

  private bury(id: string, tomb: Tombstone): void {
    this.tombstones.delete(id);
    this.tombstones.set(id, tomb);
    if (this.tombstones.size > MAX_TOMBSTONES) {
      // A delete only has to outlive the writes that were in flight when it happened.
      let drop = this.tombstones.size - MAX_TOMBSTONES / 2;
      for (const key of this.tombstones.keys()) {
        if (drop-- <= 0) break;
        this.tombstones.delete(key);
      }
    }
  }
}
