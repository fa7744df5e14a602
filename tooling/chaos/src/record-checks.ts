// The checks on a run's whole record, at its end: an owner hears `unregistered` only after an
// unregister (rule 6 of docs/guarantees.md), each watcher's events per node are well-formed (rule 7),
// every `left` it saw has a cause in the record, and a killed owner's nodes leave within the bound
// (rule 4).
import type { NodeChangeEvent } from '@roster/core';
import { wellFormedProblem } from '@roster/core/conformance';
import { type RunRecord, type Seen, viewAt } from './run-record.js';

export function checkRecord(record: RunRecord, end: number): void {
  checkOwnerLosses(record);
  for (const [w, seen] of record.watchers.entries()) checkWatcher(record, seen, w, end);
}

function checkOwnerLosses(record: RunRecord): void {
  const { bound, heartbeatSlack, serverRecovery } = record.options;
  // Rule 6: an owner hears `unregistered` only if an explicit delete was seen. Nobody here
  // deletes another owner's node, so it must follow an unregister of that id (its own, whose
  // call may have failed yet landed).
  for (const { key, report } of record.reports) {
    if (report.type !== 'lost' || report.reason !== 'unregistered') continue;
    const since = report.t - bound - serverRecovery - heartbeatSlack;
    const explained = record.reports.some(
      (r) =>
        r.report.type === 'intent' &&
        r.report.op === 'unregister' &&
        r.report.id === report.id &&
        r.report.t <= report.t &&
        r.report.t >= since,
    );
    if (!explained)
      record.violate(
        'lost',
        `owner-lost ${key} ${report.id} ${report.t}`,
        `owner ${key} lost ${report.id} with reason unregistered at ${iso(report.t)}, but nobody unregistered it`,
      );
  }
}

/** Watcher `w`'s events against the record. */
function checkWatcher(record: RunRecord, seen: readonly Seen[], w: number, end: number): void {
  const { ttl, bound, heartbeatSlack, serverRecovery } = record.options;
  const serverImpaired = (from: number, to: number) =>
    record.serverFaults.some((f) => f.from <= to && f.to + serverRecovery >= from);
  // Per-node order (rule 7), with core's own definition of a well-formed sequence.
  const byNode = new Map<string, NodeChangeEvent[]>();
  for (const { event } of seen) {
    const list = byNode.get(event.node.id) ?? [];
    list.push(event);
    byNode.set(event.node.id, list);
  }
  for (const [id, events] of byNode) {
    const problem = wellFormedProblem(events);
    if (problem) record.violate('order', `order w${w} ${id}`, `watcher ${w}, node ${id}: ${problem}`);
  }

  // Every `left` must have a cause in the record.
  const usedUnregisters = new Set<number>();
  for (const { t, event } of seen) {
    if (event.type !== 'left') continue;
    const { id, instanceId } = event.node;
    const owner = record.ownerOf(id, instanceId, t);
    const at = `watcher ${w}: left ${event.reason} ${id} (instance ${instanceId}) at +${t}`;
    if (event.reason === 'unregistered') {
      const index = record.reports.findIndex(
        (r, i) =>
          !usedUnregisters.has(i) &&
          r.report.type === 'intent' &&
          r.report.op === 'unregister' &&
          r.report.id === id &&
          r.report.t <= t,
      );
      if (index >= 0) usedUnregisters.add(index);
      else record.violate('lost', `unregistered w${w} ${id} ${t}`, `${at}: no owner unregistered it`);
    } else if (event.reason === 'replaced') {
      const replacedBy = record.reports.some(
        (r) =>
          r.report.type === 'intent' &&
          r.report.op === 'register' &&
          r.report.id === id &&
          r.key !== owner &&
          r.report.t <= t,
      );
      if (!replacedBy)
        record.violate('lost', `replaced w${w} ${id} ${t}`, `${at}: no other owner registered it`);
    } else {
      const from = t - bound - heartbeatSlack;
      const life = owner ? record.owners.get(owner) : undefined;
      const dead = life?.killedAt !== undefined && life.killedAt <= t;
      const paused =
        life?.pauses.some((p) => p.from <= t && p.to >= from && p.to - p.from + heartbeatSlack >= ttl) ??
        false;
      const cutOff = record.reports.some(
        (r) =>
          r.key === owner &&
          r.report.type === 'failed' &&
          r.report.id === id &&
          r.report.t >= from - serverRecovery &&
          r.report.t <= t,
      );
      if (!(dead || paused || cutOff || serverImpaired(from, t)))
        record.violate(
          'lost',
          `expired w${w} ${id} ${t}`,
          `${at}: its owner ${owner ?? '(unknown)'} was alive, not paused, and the servers were up`,
        );
    }
  }

  // Expiry within the bound (rule 4) for every node of a killed owner while the servers were up.
  for (const life of record.owners.values()) {
    const k = life.killedAt;
    if (k === undefined || k + bound > end || serverImpaired(k - ttl, k + bound)) continue;
    const present = viewAt(seen, k);
    for (const node of present.values()) {
      if (record.ownerOf(node.id, node.instanceId, k) !== life.key) continue;
      const left = seen.find(
        (s) =>
          s.t >= k &&
          s.event.type === 'left' &&
          s.event.node.id === node.id &&
          s.event.node.instanceId === node.instanceId,
      );
      const tag = `watcher ${w}: ${node.id} (instance ${node.instanceId}) of ${life.key} killed at +${k}`;
      if (!left || left.t > k + bound) {
        record.violate(
          'phantom',
          `late w${w} ${node.id} ${node.instanceId}`,
          `${tag}: no left within ${bound} ms (${left ? `left after ${left.t - k} ms` : 'never left'})`,
        );
      } else if (
        left.event.type === 'left' &&
        left.event.reason === 'expired' &&
        left.t < k + ttl - heartbeatSlack
      ) {
        record.violate(
          'lost',
          `early w${w} ${node.id} ${node.instanceId}`,
          `${tag}: expired after ${left.t - k} ms, before the ttl`,
        );
      }
    }
  }
}

function iso(t: number): string {
  return new Date(t).toISOString().slice(11, 23);
}
