import { encodeRecord } from '../../record-codec.js';
import type {
  BackendChange,
  BackendEntry,
  BackendWatch,
  DiscoveryBackend,
} from '../../spi/discovery-backend.js';
import { type OnTestFinished, WAIT_LIMIT } from '../harness.js';

/**
 * The ttl of namespaces in cases about anything but ttls: long enough that nothing expires while
 * a case runs on a loaded machine, so an expiry never passes for a lost write.
 */
export const QUIET_TTL = 60_000;

/** A valid v1 record for `key` (backends may decode what they store, e.g. to time expiry). */
export function recordBytes(key: string, load = 0, instanceId = `i-${key}`): Uint8Array {
  const now = Date.now();
  return encodeRecord({ id: key, metadata: {}, load, instanceId, registeredAt: now, lastSeen: now });
}

/** `undefined` when `a` and `b` hold the same bytes, else where they first differ. */
export function bytesDiffer(a: Uint8Array | undefined, b: Uint8Array | undefined): string | undefined {
  if (!a || !b) return `${a ? 'a value' : 'no value'} vs ${b ? 'a value' : 'no value'}`;
  if (a.byteLength !== b.byteLength) return `${a.byteLength} bytes vs ${b.byteLength} bytes`;
  for (let i = 0; i < a.byteLength; i++)
    if (a[i] !== b[i]) return `byte ${i} is ${a[i]} vs ${b[i]} (of ${a.byteLength})`;
  return undefined;
}

/** `put:key@rev`, `delete:key@rev:reason`, `resync`: short form for messages and comparisons. */
export function describeChange(change: BackendChange): string {
  if (change.type === 'resync') return `resync(${change.reason})`;
  if (change.type === 'put') return `put:${change.key}@${change.revision}`;
  return `delete:${change.key}@${change.revision}${change.reason ? `:${change.reason}` : ''}`;
}

/** A raw change feed recorded into an array, with when each change arrived (local epoch ms). */
export class Feed {
  readonly changes: BackendChange[] = [];
  readonly arrivals: number[] = [];
  readonly watch: BackendWatch;

  constructor(backend: DiscoveryBackend, cursor: string, onFinished: OnTestFinished) {
    this.watch = backend.watch(cursor, (change) => {
      this.changes.push(change);
      this.arrivals.push(Date.now());
    });
    onFinished(async () => {
      await this.watch.stop().catch(() => {});
    });
  }

  /** Lists `backend` and watches from the snapshot's cursor. */
  static async from(
    backend: DiscoveryBackend,
    onFinished: OnTestFinished,
  ): Promise<{ feed: Feed; entries: readonly BackendEntry[] }> {
    const snapshot = await backend.list();
    return { feed: new Feed(backend, snapshot.cursor, onFinished), entries: snapshot.entries };
  }

  /** The changes of `key`. */
  of(key: string): BackendChange[] {
    return this.changes.filter((c) => c.type !== 'resync' && c.key === key);
  }

  summary(): string[] {
    return this.changes.map(describeChange);
  }

  resync(): (BackendChange & { type: 'resync' }) | undefined {
    return this.changes.find((c): c is BackendChange & { type: 'resync' } => c.type === 'resync');
  }

  /** Waits for the first change matching `match`; `duty` says what is broken if it never comes. */
  async until(
    duty: string,
    match: (change: BackendChange) => boolean,
    timeout = WAIT_LIMIT,
  ): Promise<{ change: BackendChange; at: number; index: number }> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const index = this.changes.findIndex(match);
      if (index >= 0) return { change: this.changes[index]!, at: this.arrivals[index]!, index };
      if (Date.now() > deadline)
        throw new Error(
          `${duty} (waited ${timeout} ms; feed so far: ${this.summary().slice(-10).join(', ') || 'nothing'})`,
        );
      await tick(10);
    }
  }

  /** Waits for the put of `key` at `revision` (a sentinel: everything written before it has arrived). */
  untilPut(key: string, revision: number, duty: string, timeout = WAIT_LIMIT): Promise<unknown> {
    return this.until(duty, (c) => c.type === 'put' && c.key === key && c.revision === revision, timeout);
  }
}

/** Writes `key` and returns its revision, failing with `duty` if the put was refused. */
export async function mustPut(
  backend: DiscoveryBackend,
  key: string,
  value: Uint8Array = recordBytes(key),
  duty = `an unconditional put of ${key} was refused`,
): Promise<number> {
  const result = await backend.put(key, value);
  if (!result.ok) throw new Error(duty);
  return result.revision;
}

/** Runs `task` over `items`, at most `limit` at a time. */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  });
  await Promise.all(workers);
}

/** One macrotask: lets other async work (readers, feeds) interleave with a busy writer. */
export function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `get(key)` until it answers "absent" or `deadline` passes. Returns when the absent answer
 * arrived, or undefined if the key was still there at the deadline.
 */
export async function goneBy(
  backend: DiscoveryBackend,
  key: string,
  deadline: number,
): Promise<number | undefined> {
  for (;;) {
    const entry = await backend.get(key);
    const now = Date.now();
    if (!entry) return now;
    if (now > deadline) return undefined;
    await tick(20);
  }
}

/** State of a namespace as key → entry; compared entry by entry (key, revision, value bytes). */
export type State = Map<string, { revision: number; value: Uint8Array }>;

export function stateOf(entries: readonly BackendEntry[]): State {
  return new Map(entries.map((e) => [e.key, { revision: e.revision, value: e.value }]));
}

/** Applies a change to a state (a put sets, a delete removes). */
export function apply(state: State, change: BackendChange): void {
  if (change.type === 'put') state.set(change.key, { revision: change.revision, value: change.value });
  else if (change.type === 'delete') state.delete(change.key);
}

/** The first difference between two states, or undefined when equal. */
export function stateDiffers(actual: State, expected: State): string | undefined {
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (!got) return `${key} (revision ${want.revision}) is missing`;
    if (got.revision !== want.revision)
      return `${key} is at revision ${got.revision}, expected ${want.revision}`;
    const bytes = bytesDiffer(got.value, want.value);
    if (bytes) return `${key}@${want.revision} has other bytes: ${bytes}`;
  }
  for (const [key, got] of actual)
    if (!expected.has(key)) return `${key} (revision ${got.revision}) should not be there`;
  return undefined;
}
