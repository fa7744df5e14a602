import type { NodeChangeEvent, NodeDiscovery, NodeInfo } from '@roster/core';
import { EVENT_LOG_SIZE, type UiEvent, type UiSnapshot, type UiStatus } from './wire.js';

/** What a subscriber of the feed is told, in order. */
export type FeedMessage =
  | { kind: 'change'; event: UiEvent }
  /** A node that was there when the watch started: part of the view, not logged as an event. */
  | { kind: 'node'; node: NodeInfo }
  | { kind: 'status'; status: UiStatus };

/** What the snapshot says about where the view comes from (fixed for the dashboard's life). */
export interface FeedSource {
  readonly backend: string;
  readonly namespace: string;
  readonly ttl: number;
  readonly actions: boolean;
}

/**
 * The dashboard's own view of the namespace, fed by one `watch()` of the CLI's discovery
 * instance: the nodes, the recent events and the backend's status. Snapshots and the messages
 * that follow come from the same sequence, so a page that applies a snapshot and then the
 * messages after it never misses or repeats a change.
 */
export class DashboardFeed {
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly events: UiEvent[] = [];
  private readonly listeners = new Set<(message: FeedMessage) => void>();
  private seq = 0;
  private statusNow: UiStatus;
  private watchingSince = 0;
  private presentAtStart = 0;

  constructor(
    private readonly discovery: NodeDiscovery,
    private readonly source: FeedSource,
    private readonly now: () => number,
  ) {
    this.statusNow = { status: 'connected', since: now() };
  }

  /** Follows the discovery's watch until `signal` aborts or the discovery closes. */
  async run(signal: AbortSignal): Promise<void> {
    // The watch starts with a `joined` for every node already there: those are the view, not
    // news, so they are not logged (a namespace of thousands would flood the log at start).
    const present = new Map(this.discovery.list().map((node) => [node.id, node.instanceId]));
    this.watchingSince = this.now();
    this.presentAtStart = present.size;
    for await (const event of this.discovery.watch({ signal, includeExisting: true })) {
      const initial = event.type === 'joined' && present.get(event.node.id) === event.node.instanceId;
      present.delete(event.node.id);
      this.apply(event, !initial);
    }
    if (!signal.aborted) this.setStatus({ status: 'closed', since: this.now() });
  }

  /** Reports the backend's reachability (from the probe); repeats are not news. */
  setStatus(status: UiStatus): void {
    if (status.status === this.statusNow.status && status.detail === this.statusNow.detail) return;
    if (this.statusNow.status === 'closed') return;
    this.statusNow =
      status.status === this.statusNow.status ? { ...status, since: this.statusNow.since } : status;
    this.publish({ kind: 'status', status: this.statusNow });
  }

  get status(): UiStatus {
    return this.statusNow;
  }

  snapshot(): UiSnapshot {
    return {
      backend: this.source.backend,
      backendName: this.discovery.backendName,
      namespace: this.source.namespace,
      ttl: this.source.ttl,
      actions: this.source.actions,
      serverNow: this.now(),
      watchingSince: this.watchingSince,
      presentAtStart: this.presentAtStart,
      status: this.statusNow,
      nodes: [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      events: [...this.events],
    };
  }

  /** Calls `listener` for every later message, synchronously; returns the unsubscribe. */
  subscribe(listener: (message: FeedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(event: NodeChangeEvent, log: boolean): void {
    if (event.type === 'left') this.nodes.delete(event.node.id);
    else this.nodes.set(event.node.id, event.node);
    if (!log) {
      this.publish({ kind: 'node', node: event.node });
      return;
    }
    this.seq += 1;
    const entry: UiEvent = {
      seq: this.seq,
      at: this.now(),
      type: event.type,
      node: event.node,
      ...(event.type === 'left' ? { reason: event.reason } : {}),
      ...(event.type === 'updated' ? { previous: event.previous } : {}),
    };
    this.events.push(entry);
    if (this.events.length > EVENT_LOG_SIZE) this.events.splice(0, this.events.length - EVENT_LOG_SIZE);
    this.publish({ kind: 'change', event: entry });
  }

  private publish(message: FeedMessage): void {
    for (const listener of [...this.listeners]) listener(message);
  }
}
