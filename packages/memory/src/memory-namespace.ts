import { type BackendChange, type BackendEntry, DeadlineQueue } from '@roster/core/spi';

const LOG_SIZE = 10_000;
const HISTORY_DEPTH = 10;

interface StoredRecord {
  value: Uint8Array;
  revision: number;
}

export type ChangeListener = (change: BackendChange) => void;

/**
 * One namespace of a memory store: records, one revision counter for puts and deletes, a short
 * change log (so a watch can start from a list's cursor), per-key history, and TTLs on a
 * deadline queue (a tick costs only the keys that are due).
 */
export class MemoryNamespace {
  readonly records = new Map<string, StoredRecord>();
  private readonly history = new Map<string, Uint8Array[]>();
  private readonly log: BackendChange[] = [];
  private readonly listeners = new Set<ChangeListener>();
  private readonly expiry: DeadlineQueue<string>;
  private revision = 0;
  private frozen: string[] | undefined;

  constructor(readonly ttl: number) {
    this.expiry = new DeadlineQueue((keys) => this.expire(keys));
  }

  get currentRevision(): number {
    return this.revision;
  }

  get(key: string): BackendEntry | undefined {
    const record = this.records.get(key);
    return record && { key, value: record.value, revision: record.revision };
  }

  entries(): BackendEntry[] {
    return [...this.records].map(([key, r]) => ({ key, value: r.value, revision: r.revision }));
  }

  /** Puts a value (compare-and-set when `expected` is given); returns the new revision or undefined on conflict. */
  put(
    key: string,
    value: Uint8Array,
    expected: number | null | undefined,
    refreshOnly: boolean,
  ): number | undefined {
    const current = this.records.get(key);
    if (expected === null && current) return undefined;
    if (typeof expected === 'number' && current?.revision !== expected) return undefined;
    const revision = ++this.revision;
    this.records.set(key, { value, revision });
    this.expiry.set(key, Date.now() + this.ttl);
    this.remember(key, value, refreshOnly);
    this.publish({ type: 'put', key, value, revision });
    return revision;
  }

  delete(key: string, expected: number | undefined, reason: 'unregistered' | 'expired'): boolean {
    const current = this.records.get(key);
    if (!current || (expected !== undefined && current.revision !== expected)) return false;
    this.records.delete(key);
    this.expiry.delete(key);
    this.publish({ type: 'delete', key, revision: ++this.revision, reason });
    return true;
  }

  historyOf(key: string, limit: number): Uint8Array[] {
    return (this.history.get(key) ?? []).slice(-limit).reverse();
  }

  /** Changes after `cursor`, or undefined when the log no longer reaches back that far. */
  changesAfter(cursor: number): BackendChange[] | undefined {
    const first = this.log[0];
    if (cursor >= this.revision) return [];
    if (!first || revisionOf(first) > cursor + 1) return undefined;
    return this.log.filter((change) => revisionOf(change) > cursor);
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** While frozen (a simulated server pause) TTLs that run out are held until `thaw()`. */
  freeze(): void {
    this.frozen ??= [];
  }

  thaw(): void {
    const held = this.frozen ?? [];
    this.frozen = undefined;
    this.expire(held);
  }

  private expire(keys: string[]): void {
    if (this.frozen) {
      this.frozen.push(...keys);
      return;
    }
    for (const key of keys) this.delete(key, undefined, 'expired');
  }

  private remember(key: string, value: Uint8Array, refreshOnly: boolean): void {
    let states = this.history.get(key);
    if (!states) {
      states = [];
      this.history.set(key, states);
    }
    // A plain heartbeat replaces the newest state instead of pushing real history out.
    if (refreshOnly && states.length > 0) states[states.length - 1] = value;
    else states.push(value);
    if (states.length > HISTORY_DEPTH) states.shift();
  }

  private publish(change: BackendChange): void {
    this.log.push(change);
    // Trimmed in halves, not per change: a splice of the whole log on every write is O(n).
    if (this.log.length > 2 * LOG_SIZE) this.log.splice(0, this.log.length - LOG_SIZE);
    for (const listener of this.listeners) listener(change);
  }
}

function revisionOf(change: BackendChange): number {
  return change.type === 'resync' ? 0 : change.revision;
}
