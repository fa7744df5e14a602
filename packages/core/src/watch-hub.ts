import { EventChannel } from './event-channel.js';
import { matchesFilter } from './node-filter-match.js';
import type { NodeChangeEvent } from './types/node-change-event.js';
import type { NodeFilter } from './types/node-filter.js';
import type { NodeInfo } from './types/node-info.js';
import type { WatchOptions } from './types/watch-options.js';

interface Watcher {
  readonly channel: EventChannel<NodeChangeEvent>;
  readonly filter: NodeFilter | undefined;
}

/** Seen through a filter, an event may become a join or a leave of the filtered set, or nothing. */
export function throughFilter(
  event: NodeChangeEvent,
  filter: NodeFilter | undefined,
): NodeChangeEvent | undefined {
  if (!filter?.metadata) return event;
  if (event.type !== 'updated') return matchesFilter(event.node, filter) ? event : undefined;
  const was = matchesFilter(event.previous, filter);
  const is = matchesFilter(event.node, filter);
  if (was && is) return event;
  if (is) return { type: 'joined', node: event.node };
  if (was) return { type: 'left', node: event.previous, reason: 'unregistered' };
  return undefined;
}

/** Fans every view change out to each watcher's own queue. */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  get size(): number {
    return this.watchers.size;
  }

  /** A new watcher; with `includeExisting` its queue starts with a `joined` per current node. */
  subscribe(options: WatchOptions, current: () => Iterable<NodeInfo>): EventChannel<NodeChangeEvent> {
    const filter = options.filter;
    let watcher: Watcher | undefined;
    const channel = new EventChannel<NodeChangeEvent>(() => {
      if (watcher) this.watchers.delete(watcher);
      options.signal?.removeEventListener('abort', onAbort);
    });
    const onAbort = () => channel.end();
    if (options.signal?.aborted) {
      channel.end();
      return channel;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.includeExisting !== false) {
      for (const node of current()) if (matchesFilter(node, filter)) channel.push({ type: 'joined', node });
    }
    watcher = { channel, filter };
    this.watchers.add(watcher);
    return channel;
  }

  publish(event: NodeChangeEvent): void {
    // A sync publishes a join per listed node, mostly before anyone watches.
    if (this.watchers.size === 0) return;
    for (const watcher of this.watchers) {
      const seen = throughFilter(event, watcher.filter);
      if (seen) watcher.channel.push(seen);
    }
  }

  endAll(): void {
    for (const watcher of [...this.watchers]) watcher.channel.end();
    this.watchers.clear();
  }
}
