// What a chaos run records, as the checker keeps it: the owners' lives and reports, the server
// faults and every event each watcher received; and a watcher's view folded from its events.
import type { NodeChangeEvent, NodeInfo } from '@roster/core';
import type { OwnerReport } from './owner-agent.js';

export interface Seen {
  readonly t: number;
  readonly event: NodeChangeEvent;
}

/** `slow`: a failover cycle's views converged later than ttl + 2 s after the election (issue 12). */
export type ViolationKind = 'lost' | 'phantom' | 'order' | 'slow';

export interface Violation {
  readonly kind: ViolationKind;
  readonly t: number;
  readonly detail: string;
}

export interface Interval {
  readonly from: number;
  to: number;
  readonly what: string;
}

export interface OwnerLife {
  readonly key: string;
  readonly startedAt: number;
  killedAt?: number;
  readonly pauses: Interval[];
}

export interface CheckerOptions {
  readonly ttl: number;
  /** ttl + max(1 000, ttl / 4): rule 4 of docs/guarantees.md. */
  readonly bound: number;
  /** The longest gap between two heartbeats of a live owner (interval + jitter + a slow request). */
  readonly heartbeatSlack: number;
  /** How long after a server fault settles heartbeats may still fail to land (reconnect, request timeout). */
  readonly serverRecovery: number;
}

/** What the end-of-run checks (record-checks.ts) read of the record, and how they report. */
export interface RunRecord {
  readonly options: CheckerOptions;
  readonly reports: readonly { key: string; report: OwnerReport }[];
  readonly owners: ReadonlyMap<string, OwnerLife>;
  readonly serverFaults: readonly Interval[];
  readonly watchers: readonly (readonly Seen[])[];
  /** The owner of `instanceId` (or, unknown, the last to announce a register of `id` by `t`). */
  ownerOf(id: string, instanceId: string, t: number): string | undefined;
  /** Records a violation, once per `key`. */
  violate(kind: ViolationKind, key: string, detail: string): void;
}

/** A watcher's view: its events folded up to time `t` (all of them by default). */
export function viewAt(seen: readonly Seen[], t = Number.POSITIVE_INFINITY): Map<string, NodeInfo> {
  const view = new Map<string, NodeInfo>();
  for (const s of seen) {
    if (s.t > t) break;
    if (s.event.type === 'left') view.delete(s.event.node.id);
    else view.set(s.event.node.id, s.event.node);
  }
  return view;
}
