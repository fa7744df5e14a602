// The independent checker: it records what the owners did (their own reports and the lifecycle
// the parent imposed on them), what the servers went through, and every event each watcher
// received, and judges the watchers against that record. It never asks the library under test
// what the truth is.
import type { NodeInfo } from '@roster/core';
import type { OwnedState, OwnerReport } from './owner-agent.js';
import { checkRecord } from './record-checks.js';
import type {
  CheckerOptions,
  Interval,
  OwnerLife,
  RunRecord,
  Seen,
  Violation,
  ViolationKind,
} from './run-record.js';

export class Checker implements RunRecord {
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

  /** The checks on the whole record, at the end of the run (record-checks.ts). */
  finish(end: number): void {
    checkRecord(this, end);
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

  ownerOf(id: string, instanceId: string, t: number): string | undefined {
    return this.instanceOwner.get(instanceId) ?? this.lastRegistrar(id, t);
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
