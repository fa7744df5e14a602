// What a run leaves besides its verdict: how many events of each kind it exercised, and the whole
// record as NDJSON for a post-mortem.
import { writeFileSync } from 'node:fs';
import type { Checker } from './checker.js';
import type { WallClockStep } from './wall-clock.js';

/** How many events of each kind the watchers saw, and how many owner calls failed: what a run exercised. */
export function tally(checker: Checker): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (k: string) => counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const seen of checker.watchers)
    for (const { event } of seen) add(event.type === 'left' ? `left ${event.reason}` : event.type);
  for (const { report } of checker.reports) {
    if (report.type === 'failed') add(`failed ${report.op}`);
    if (report.type === 'lost') add(`owner lost (${report.reason})`);
  }
  return counts;
}

export function dump(file: string, checker: Checker, wallClockSteps: readonly WallClockStep[]): void {
  const lines: string[] = [];
  for (const step of wallClockSteps) lines.push(JSON.stringify({ wallClockStep: step }));
  for (const r of checker.reports) lines.push(JSON.stringify({ owner: r.key, ...r.report }));
  for (const life of checker.owners.values()) lines.push(JSON.stringify({ lifecycle: life }));
  for (const fault of checker.serverFaults) lines.push(JSON.stringify({ serverFault: fault }));
  checker.watchers.forEach((seen, w) => {
    for (const s of seen) lines.push(JSON.stringify({ watcher: w, t: s.t, event: s.event }));
  });
  writeFileSync(file, `${lines.join('\n')}\n`);
}
