// The quiet period after a cycle: poll until every watcher's view matches what the live owners
// hold, and say when that happened relative to the end of the faults.
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeDiscovery, NodeInfo } from '@roster/core';
import type { Checker } from './checker.js';
import type { OwnedState } from './owner-agent.js';
import type { Slot } from './owner-slots.js';
import type { Owner } from './owners.js';
import { viewAt } from './run-record.js';

export interface Settled {
  readonly converged: boolean;
  /** When the faults were over (their promise resolved). */
  readonly settledAt: number;
  /** Since when the views have matched the truth for good (when converged). */
  readonly matchedSince: number;
  readonly problems: ReturnType<Checker['compare']>;
}

export function describeSettle(result: Settled): string {
  return result.converged
    ? `converged after ${Math.max(0, result.matchedSince - result.settledAt)} ms`
    : `NOT converged: ${result.problems.length} differences`;
}

/**
 * The quiet period after a cycle: no owner actions. Polls, from now on, whether every watcher's
 * view (its events folded, and its list()) equals what the live owners hold. Once `faultsOver`
 * resolved (to the time the faults were over), the views must have matched for good through the
 * whole quiet period (at least `bound` + 1 s after that time, so killed owners' nodes must be
 * gone); it gives up `bound` + 15 s after it. Polling starts before the faults are over so that a
 * failover cycle can tell when the views converged relative to the election.
 */
export async function settle(
  checker: Checker,
  slots: readonly Slot[],
  watchers: readonly { discovery: NodeDiscovery }[],
  faultsOver: Promise<number>,
  bound: number,
): Promise<Settled> {
  let settledAt: number | undefined;
  void faultsOver.then(
    (at) => {
      settledAt = at;
    },
    () => {
      settledAt = Date.now();
    },
  );
  let matchedSince: number | undefined;
  let problems: ReturnType<Checker['compare']> = [];
  for (;;) {
    const now = Date.now();
    const states = await Promise.all(
      slots.filter((s) => s.owner?.alive).map((s) => (s.owner as Owner).state(3_000)),
    );
    const truth = new Map<string, OwnedState>();
    let unanswered = false;
    for (const nodes of states) {
      if (!nodes) unanswered = true;
      else for (const node of nodes) truth.set(node.id, node);
    }
    const views: Map<string, NodeInfo>[] = [
      ...checker.watchers.map((seen) => viewAt(seen)),
      ...watchers.map((w) => new Map(w.discovery.list().map((n) => [n.id, n] as const))),
    ];
    problems = unanswered
      ? [{ kind: 'lost', key: 'owner-silent', detail: 'a live owner did not answer' }]
      : checker.compare(truth, views);
    if (problems.length === 0) matchedSince ??= now;
    else matchedSince = undefined;
    if (settledAt !== undefined) {
      if (matchedSince !== undefined && Date.now() >= settledAt + bound + 1_000)
        return { converged: true, settledAt, matchedSince, problems };
      if (Date.now() >= settledAt + bound + 15_000)
        return { converged: false, settledAt, matchedSince: Date.now(), problems };
    }
    await sleep(200);
  }
}
