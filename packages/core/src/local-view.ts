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

/** Where a listed record stands: its revision, and its age by the server's clock when the backend gave one. */
export interface ListedPosition {
  readonly revision: number;
  readonly age?: number;
}

/** How `reconcile` reads the items of a snapshot in its one pass over them. */
export interface SnapshotReader<S> {
  /** The node an item holds, or undefined to skip it (a foreign value). */
  node(item: S): NodeInfo | undefined;
  /**
   * Called for each id whose entry now comes from the snapshot (new or changed), with its item:
   * when it was written is unknown unless the item has an age.
   */
  listed?(id: string, item: S): void;
}

const nodeField: SnapshotReader<ListedPosition & { readonly node: NodeInfo }> = { node: (item) => item.node };

/** What `reconcile` did, for the caller's bookkeeping (sweeper, ownership checks). */
export interface ReconcileResult {
  /** Ids that left because the snapshot lacks them. */
  readonly dropped: readonly string[];
  /**
   * Ids the snapshot lacks that were kept because they changed in the view after the list began:
   * the snapshot may predate them, or they may have been deleted since. The caller confirms each
   * with a read of the server.
   */
  readonly unconfirmed: readonly string[];
}

/**
 * This process's picture of the namespace. Every change goes through here and comes out as the
 * events watchers see, so ordering and de-duplication are decided in one place: a change older
 * than what the view holds (by revision) is dropped, and a put of a node already deleted is too.
 */
export class LocalView {
  private readonly entries = new Map<string, ViewEntry>();
  private readonly tombstones = new Map<string, Tombstone>();
  /** Ids changed since `beginList()`, while a list is under way; undefined when none is. */
  private touched: Set<string> | undefined;
  /** The nodes sorted by id, kept until the view changes: `list()` and `watch()` need that order. */
  private sorted: readonly NodeInfo[] | undefined;

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

  /**
   * Every node, sorted by id. The array is shared until the next change of the view: callers
   * copy it before handing it out. Sorting 100,000 ids is a good part of a sync's cost, and
   * `list()` is called far more often than a large view changes.
   */
  sortedNodes(): readonly NodeInfo[] {
    if (this.sorted) return this.sorted;
    // The ids sorted by the built-in order (UTF-16 code units, as `<` compares strings), then
    // looked up: about half the cost of sorting the nodes with a comparator called from JS.
    const ids = [...this.entries.keys()].sort();
    const nodes = new Array<NodeInfo>(ids.length);
    for (let i = 0; i < ids.length; i++) nodes[i] = (this.entries.get(ids[i] as string) as ViewEntry).node;
    this.sorted = nodes;
    return nodes;
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
    this.store(node.id, { node, revision, receivedAt: Math.max(receivedAt, known?.receivedAt ?? 0) });
    this.touched?.add(node.id);
    this.announce(known, node, receivedAt);
    return true;
  }

  /**
   * Applies a silent renewal by this instance: a backend with `supports.silentHeartbeats`
   * renewed the key without storing it and answered with the unchanged `revision`. The owner's
   * view must still show the exact new `lastSeen` (rule 2), so the same revision of the same
   * instance is taken here, without an event. Anything else goes through `applyPut` (a backend
   * that is not silent must answer a put with a new revision). Returns false when ignored.
   */
  applyRenewal(node: NodeInfo, revision: number, receivedAt: number): boolean {
    const known = this.entries.get(node.id);
    if (!known || revision !== known.revision || known.node.instanceId !== node.instanceId)
      return this.applyPut(node, revision, receivedAt);
    this.store(node.id, { node, revision, receivedAt: Math.max(receivedAt, known.receivedAt) });
    this.touched?.add(node.id);
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
    this.remove(id);
    this.touched?.add(id);
    const why = reason ?? this.inferReason(known, now);
    this.emit({ type: 'left', node: known.node, reason: why });
    return { node: known.node, reason: why };
  }

  /**
   * A list of the namespace is about to be taken: from now on the view remembers which ids change
   * (own writes, own deletes, confirmed expiries), so that `reconcile` does not undo them.
   */
  beginList(): void {
    this.touched = new Set();
  }

  /**
   * Makes the view equal to a fresh snapshot (start, or continuity lost): nodes missing from it
   * left (expired), new ones joined, changed ones updated or replaced.
   *
   * A re-list never moves the view backwards (rule 17 of docs/guarantees.md). The snapshot was
   * taken at some moment after `beginList()`; whatever changed in the view after that call (this
   * instance's own writes and deletes, mostly) may be newer than the snapshot. So:
   * - an id untouched since `beginList()` takes the snapshot as the truth, even at a lower revision
   *   (a store that lost its data and counts again from 1 must not leave stale entries behind);
   * - a touched id that the snapshot holds goes through the ordinary rules of `applyPut`: only a
   *   newer revision replaces the entry, and a tombstone left by a delete during the list keeps
   *   older puts of the deleted instance out. Revisions of one key are comparable because both
   *   come from the same store within one list;
   * - a touched id the snapshot lacks is kept (it may have been created after the snapshot was
   *   taken: dropping it would be a false `left` and a rejoin). Its revision cannot be compared
   *   with the snapshot's position, since the cursor is opaque; the caller confirms it with a read.
   * - at the same revision and instance the view's entry is kept: it differs from the stored one
   *   only by the `lastSeen` of an owner's silent heartbeat.
   */
  reconcile(
    snapshot: readonly (ListedPosition & { readonly node: NodeInfo })[],
    now: number,
  ): ReconcileResult;
  /**
   * The same in one pass over the backend's entries, read through `reader` (which decodes them),
   * so that a sync of a large namespace builds no intermediate array.
   */
  reconcile<S extends ListedPosition>(
    snapshot: readonly S[],
    now: number,
    reader: SnapshotReader<S>,
  ): ReconcileResult;
  reconcile<S extends ListedPosition>(
    snapshot: readonly S[],
    now: number,
    reader: SnapshotReader<S> = nodeField as unknown as SnapshotReader<S>,
  ): ReconcileResult {
    const touched = this.touched ?? new Set<string>();
    this.touched = undefined;
    // A view that starts empty (the first sync) can only gain nodes: nothing to drop, no need
    // to remember which ids the snapshot held.
    const seen = this.entries.size > 0 ? new Set<string>() : undefined;
    const dropped: string[] = [];
    const unconfirmed: string[] = [];
    // Tombstones protect against writes older than a delete; after a full list only those of
    // deletes made during the list still matter (the others may carry revisions of a lost store).
    if (this.tombstones.size > 0)
      for (const id of this.tombstones.keys()) if (!touched.has(id)) this.tombstones.delete(id);
    for (const item of snapshot) {
      const node = reader.node(item);
      if (node === undefined) continue;
      const { revision, age } = item;
      seen?.add(node.id);
      const known = this.entries.get(node.id);
      if (known && known.revision === revision && known.node.instanceId === node.instanceId) continue;
      if (touched.has(node.id)) {
        if (this.applyPut(node, revision, now)) reader.listed?.(node.id, item);
        continue;
      }
      if (this.tombstones.size > 0) this.tombstones.delete(node.id);
      // When it was written: by the server's clock if the backend said, else a guess from the
      // owner's lastSeen, used only to infer leave reasons, never to time expiry (rule 16).
      const estimate =
        typeof age === 'number' && Number.isFinite(age) && age >= 0
          ? now - Math.min(age, this.ttl)
          : Math.min(now, Math.max(node.lastSeen, now - this.ttl));
      const receivedAt =
        known && known.node.instanceId === node.instanceId && known.node.lastSeen === node.lastSeen
          ? known.receivedAt
          : estimate;
      this.store(node.id, { node, revision, receivedAt });
      reader.listed?.(node.id, item);
      this.announce(known, node, now);
    }
    // Deleting the current key while iterating a Map is safe: iteration goes on with the next.
    if (seen)
      for (const [id, known] of this.entries) {
        if (seen.has(id)) continue;
        if (touched.has(id)) {
          unconfirmed.push(id);
          continue;
        }
        this.remove(id);
        dropped.push(id);
        this.emit({ type: 'left', node: known.node, reason: 'expired' });
      }
    return { dropped, unconfirmed };
  }

  private store(id: string, entry: ViewEntry): void {
    this.entries.set(id, entry);
    this.sorted = undefined;
  }

  private remove(id: string): void {
    this.entries.delete(id);
    this.sorted = undefined;
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
