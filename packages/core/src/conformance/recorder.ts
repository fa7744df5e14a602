// Reading core's watch iterators in the cases: a Recorder keeps every event with its arrival time,
// and wellFormedProblem checks the per-node order of rule 7 of docs/guarantees.md.
import type { NodeChangeEvent } from '../types/node-change-event.js';
import type { NodeDiscovery } from '../types/node-discovery.js';
import type { WatchOptions } from '../types/watch-options.js';
import { WAIT_LIMIT, waitFor } from './waiting.js';

/** A recorded event and when it arrived (local epoch ms). */
export interface Seen {
  readonly event: NodeChangeEvent;
  readonly at: number;
}

/** Reads a watch into an array as events arrive. */
export class Recorder {
  readonly seen: Seen[] = [];
  private readonly controller = new AbortController();
  readonly done: Promise<void>;

  constructor(discovery: NodeDiscovery, options: WatchOptions = {}) {
    const iterable = discovery.watch({ ...options, signal: options.signal ?? this.controller.signal });
    this.done = (async () => {
      for await (const event of iterable) this.seen.push({ event, at: Date.now() });
    })();
  }

  get events(): NodeChangeEvent[] {
    return this.seen.map((s) => s.event);
  }

  of(id: string): NodeChangeEvent[] {
    return this.events.filter((e) => e.node.id === id);
  }

  /** Short form for messages and exact comparisons: `joined:a`, `left:a:expired`, `updated:a`. */
  summary(id?: string): string[] {
    return (id ? this.of(id) : this.events).map(
      (e) => `${e.type}:${e.node.id}${e.type === 'left' ? `:${e.reason}` : ''}`,
    );
  }

  /** Waits for the first event after index `from` matching `match`. */
  async next(
    what: string,
    match: (e: NodeChangeEvent) => boolean,
    from = 0,
    timeout = WAIT_LIMIT,
  ): Promise<Seen> {
    return waitFor(
      `${what} (seen so far: ${this.summary().slice(-12).join(', ') || 'nothing'})`,
      () => this.seen.slice(from).find((s) => match(s.event)),
      timeout,
    );
  }

  /**
   * Waits for `joined` of `id` (the first one not before index `from`). `duty`: what must have
   * gone wrong if it never comes, for the failure message.
   */
  joined(id: string, timeout = WAIT_LIMIT, from = 0, duty?: string): Promise<Seen> {
    return this.next(
      `joined ${id}${duty ? ` — ${duty}` : ''}`,
      (e) => e.type === 'joined' && e.node.id === id,
      from,
      timeout,
    );
  }

  /** Waits for `left` of `id` (any reason: the caller checks it); `duty` as in `joined`. */
  left(id: string, timeout = WAIT_LIMIT, from = 0, duty?: string): Promise<Seen> {
    return this.next(
      `left ${id}${duty ? ` — ${duty}` : ''}`,
      (e) => e.type === 'left' && e.node.id === id,
      from,
      timeout,
    );
  }

  stop(): void {
    this.controller.abort();
  }
}

/**
 * Per node: joined, then updated*, then left, then possibly joined again; an `updated` carries
 * the node it replaces as `previous`; nothing is repeated. Returns the first violation.
 */
export function wellFormedProblem(events: readonly NodeChangeEvent[]): string | undefined {
  const current = new Map<string, NodeChangeEvent['node']>();
  for (const [index, event] of events.entries()) {
    const id = event.node.id;
    const known = current.get(id);
    const where = `event #${index} (${event.type} ${id})`;
    if (event.type === 'joined') {
      if (known) return `${where}: joined while already a member`;
      current.set(id, event.node);
    } else if (event.type === 'updated') {
      if (!known) return `${where}: updated a node that is not a member`;
      if (event.previous.instanceId !== known.instanceId || event.previous.lastSeen > event.node.lastSeen)
        return `${where}: previous does not match the last known state`;
      if (event.node.instanceId !== known.instanceId) return `${where}: updated changed the instanceId`;
      current.set(id, event.node);
    } else {
      if (!known) return `${where}: left while not a member`;
      current.delete(id);
    }
  }
  return undefined;
}
