// The independent checker: it records what the owners did (their own reports and the lifecycle
// the parent imposed on them), what the servers went through, and every event each watcher
// received, and judges the watchers against that record. It never asks the library under test
// what the truth is.
import type { NodeChangeEvent, NodeInfo } from '@roster/core';
import { wellFormedProblem } from '@roster/core/conformance';
import type { OwnedState, OwnerReport } from './owner-agent.js';

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

interface Interval {
  readonly from: number;
  to: number;
  readonly what: string;
}

interface OwnerLife {
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

export class Checker {
  readonly owners = new Map<string, OwnerLife>();
  readonly reports: { key: string; report: OwnerReport }[] = [];
  readonly serverFaults: Interval[] = [];
  readonly watchers: Seen[][] = [];
  readonly violations: Violation[] = [];
  readonly convergence: number[] = [];
  faults = 0;
  private readonly reported = new Set<string>();
  /** instanceId → owner key, from register results and the owners' instance reports. */
  private readonly instanceOwner = new Map<string, string>();

  constructor(readonly options: CheckerOptions) {}

  ownerStarted(key: string): void {
    this.owners.set(key, { key, startedAt: Date.now(), pauses: [] });
  }
  ownerKilled(key: string): void {
    this.faults += 1;
    const life = this.owners.get(key);
    if (life) life.killedAt = Date.now();
  }
  ownerPaused(key: string, ms: number): Interval {
    this.faults += 1;
    const from = Date.now();
    const pause = { from, to: from + ms, what: `paused ${ms} ms` };
    this.owners.get(key)?.pauses.push(pause);
    return pause;
  }
  report(key: string, report: OwnerReport): void {
    this.reports.push({ key, report });
    if (report.type === 'done' && report.instanceId) this.instanceOwner.set(report.instanceId, key);
    if (report.type === 'instance') this.instanceOwner.set(report.instanceId, key);
  }
  serverFault(what: string): Interval {
    this.faults += 1;
    const fault = { from: Date.now(), to: Number.POSITIVE_INFINITY, what };
    this.serverFaults.push(fault);
    return fault;
  }
  watcher(): Seen[] {
    const seen: Seen[] = [];
    this.watchers.push(seen);
    return seen;
  }
  get events(): number {
    return this.watchers.reduce((sum, seen) => sum + seen.length, 0);
  }

  violate(kind: ViolationKind, key: string, detail: string): void {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.violations.push({ kind, t: Date.now(), detail });
  }
  count(kind: ViolationKind): number {
    return this.violations.filter((v) => v.kind === kind).length;
  }

  /**
   * Compares every watcher's view with what the live owners hold. Returns the differences
   * (empty when converged) without recording them: the caller decides when they are violations.
   */
  compare(
    truth: ReadonlyMap<string, OwnedState>,
    views: readonly ReadonlyMap<string, NodeInfo>[],
  ): { kind: 'lost' | 'phantom'; key: string; detail: string }[] {
    const problems: { kind: 'lost' | 'phantom'; key: string; detail: string }[] = [];
    views.forEach((view, w) => {
      for (const [id, want] of truth) {
        const got = view.get(id);
        if (!got) {
          problems.push({
            kind: 'lost',
            key: `lost w${w} ${id} ${want.instanceId}`,
            detail: `watcher ${w} misses ${id} (instance ${want.instanceId}), which its owner holds`,
          });
        } else if (
          got.instanceId !== want.instanceId ||
          got.load !== want.load ||
          !sameRecord(got.metadata, want.metadata)
        ) {
          problems.push({
            kind: 'lost',
            key: `stale w${w} ${id} ${want.instanceId} ${want.load} ${JSON.stringify(want.metadata)}`,
            detail: `watcher ${w} shows a stale ${id}: ${describe(got)}, the owner holds ${describe(want)} (a lost update)`,
          });
        }
      }
      for (const [id, got] of view) {
        if (!truth.has(id)) {
          problems.push({
            kind: 'phantom',
            key: `phantom w${w} ${id} ${got.instanceId}`,
            detail: `watcher ${w} shows ${id} (instance ${got.instanceId}), which no live owner holds; its owners' last actions: ${this.story(id)}`,
          });
        }
      }
    });
    return problems;
  }

  /** The checks on the whole record, at the end of the run. */
  finish(end: number): void {
    const { ttl, bound, heartbeatSlack, serverRecovery } = this.options;
    const serverImpaired = (from: number, to: number) =>
      this.serverFaults.some((f) => f.from <= to && f.to + serverRecovery >= from);
    const ownerOf = (id: string, instanceId: string, t: number): string | undefined =>
      this.instanceOwner.get(instanceId) ?? this.lastRegistrar(id, t);

    // Rule 6: an owner hears `unregistered` only if an explicit delete was seen. Nobody here
    // deletes another owner's node, so it must follow an unregister of that id (its own, whose
    // call may have failed yet landed).
    for (const { key, report } of this.reports) {
      if (report.type !== 'lost' || report.reason !== 'unregistered') continue;
      const since = report.t - bound - serverRecovery - heartbeatSlack;
      const explained = this.reports.some(
        (r) =>
          r.report.type === 'intent' &&
          r.report.op === 'unregister' &&
          r.report.id === report.id &&
          r.report.t <= report.t &&
          r.report.t >= since,
      );
      if (!explained)
        this.violate(
          'lost',
          `owner-lost ${key} ${report.id} ${report.t}`,
          `owner ${key} lost ${report.id} with reason unregistered at ${iso(report.t)}, but nobody unregistered it`,
        );
    }

    this.watchers.forEach((seen, w) => {
      // Per-node order (rule 7), with core's own definition of a well-formed sequence.
      const byNode = new Map<string, NodeChangeEvent[]>();
      for (const { event } of seen) {
        const list = byNode.get(event.node.id) ?? [];
        list.push(event);
        byNode.set(event.node.id, list);
      }
      for (const [id, events] of byNode) {
        const problem = wellFormedProblem(events);
        if (problem) this.violate('order', `order w${w} ${id}`, `watcher ${w}, node ${id}: ${problem}`);
      }

      // Every `left` must have a cause in the record.
      const usedUnregisters = new Set<number>();
      for (const { t, event } of seen) {
        if (event.type !== 'left') continue;
        const { id, instanceId } = event.node;
        const owner = ownerOf(id, instanceId, t);
        const at = `watcher ${w}: left ${event.reason} ${id} (instance ${instanceId}) at +${t}`;
        if (event.reason === 'unregistered') {
          const index = this.reports.findIndex(
            (r, i) =>
              !usedUnregisters.has(i) &&
              r.report.type === 'intent' &&
              r.report.op === 'unregister' &&
              r.report.id === id &&
              r.report.t <= t,
          );
          if (index >= 0) usedUnregisters.add(index);
          else this.violate('lost', `unregistered w${w} ${id} ${t}`, `${at}: no owner unregistered it`);
        } else if (event.reason === 'replaced') {
          const replacedBy = this.reports.some(
            (r) =>
              r.report.type === 'intent' &&
              r.report.op === 'register' &&
              r.report.id === id &&
              r.key !== owner &&
              r.report.t <= t,
          );
          if (!replacedBy)
            this.violate('lost', `replaced w${w} ${id} ${t}`, `${at}: no other owner registered it`);
        } else {
          const from = t - bound - heartbeatSlack;
          const life = owner ? this.owners.get(owner) : undefined;
          const dead = life?.killedAt !== undefined && life.killedAt <= t;
          const paused =
            life?.pauses.some((p) => p.from <= t && p.to >= from && p.to - p.from + heartbeatSlack >= ttl) ??
            false;
          const cutOff = this.reports.some(
            (r) =>
              r.key === owner &&
              r.report.type === 'failed' &&
              r.report.id === id &&
              r.report.t >= from - serverRecovery &&
              r.report.t <= t,
          );
          if (!(dead || paused || cutOff || serverImpaired(from, t)))
            this.violate(
              'lost',
              `expired w${w} ${id} ${t}`,
              `${at}: its owner ${owner ?? '(unknown)'} was alive, not paused, and the servers were up`,
            );
        }
      }

      // Expiry within the bound (rule 4) for every node of a killed owner while the servers were up.
      for (const life of this.owners.values()) {
        const k = life.killedAt;
        if (k === undefined || k + bound > end || serverImpaired(k - ttl, k + bound)) continue;
        const present = viewAt(seen, k);
        for (const node of present.values()) {
          if (ownerOf(node.id, node.instanceId, k) !== life.key) continue;
          const left = seen.find(
            (s) =>
              s.t >= k &&
              s.event.type === 'left' &&
              s.event.node.id === node.id &&
              s.event.node.instanceId === node.instanceId,
          );
          const tag = `watcher ${w}: ${node.id} (instance ${node.instanceId}) of ${life.key} killed at +${k}`;
          if (!left || left.t > k + bound) {
            this.violate(
              'phantom',
              `late w${w} ${node.id} ${node.instanceId}`,
              `${tag}: no left within ${bound} ms (${left ? `left after ${left.t - k} ms` : 'never left'})`,
            );
          } else if (
            left.event.type === 'left' &&
            left.event.reason === 'expired' &&
            left.t < k + ttl - heartbeatSlack
          ) {
            this.violate(
              'lost',
              `early w${w} ${node.id} ${node.instanceId}`,
              `${tag}: expired after ${left.t - k} ms, before the ttl`,
            );
          }
        }
      }
    });
  }

  /** The last few things owners reported about `id`, for a violation's description. */
  story(id: string): string {
    return this.reports
      .filter((r) => 'id' in r.report && r.report.id === id)
      .slice(-4)
      .map((r) => {
        const x = r.report as { type: string; op?: string; reason?: string; error?: string; t: number };
        return `${r.key} ${x.type}${x.op ? ` ${x.op}` : ''}${x.reason ? ` ${x.reason}` : ''}${x.error ? ` (${x.error.slice(0, 80)})` : ''} ${new Date(x.t).toISOString().slice(11, 23)}`;
      })
      .join(' | ');
  }

  /** The owner that last announced a register of `id` at or before `t`. */
  private lastRegistrar(id: string, t: number): string | undefined {
    let key: string | undefined;
    for (const r of this.reports) {
      if (r.report.type === 'intent' && r.report.op === 'register' && r.report.id === id && r.report.t <= t)
        key = r.key;
    }
    return key;
  }
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

function sameRecord(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

function describe(node: {
  instanceId: string;
  load: number;
  metadata: Readonly<Record<string, string>>;
}): string {
  return `instance ${node.instanceId}, load ${node.load}, metadata ${JSON.stringify(node.metadata)}`;
}

/** The p-th percentile (0-100) of `values`, 0 when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function iso(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}
