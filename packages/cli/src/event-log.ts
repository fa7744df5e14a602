import type { NodeChangeEvent } from '@roster/core';

/** Events a watcher has seen, with the time each arrived, and a way to wait for one. */
export class EventLog {
  readonly events: { event: NodeChangeEvent; at: number }[] = [];
  private waiters = new Set<() => void>();

  add(event: NodeChangeEvent, at: number): void {
    this.events.push({ event, at });
    for (const wake of [...this.waiters]) wake();
  }

  count(predicate: (event: NodeChangeEvent) => boolean): number {
    return this.events.filter(({ event }) => predicate(event)).length;
  }

  /**
   * Resolves with the first logged event matching `predicate` (already logged or future), or
   * undefined when `timeoutMs` passes or `signal` aborts first.
   */
  waitFor(
    predicate: (event: NodeChangeEvent) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ event: NodeChangeEvent; at: number } | undefined> {
    const find = () => this.events.find(({ event }) => predicate(event));
    const found = find();
    if (found || signal.aborted) return Promise.resolve(found);
    return new Promise((resolve) => {
      const finish = (value: { event: NodeChangeEvent; at: number } | undefined) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        signal.removeEventListener('abort', stop);
        resolve(value);
      };
      const check = () => {
        const hit = find();
        if (hit) finish(hit);
      };
      const stop = () => finish(undefined);
      const timer = setTimeout(stop, timeoutMs);
      this.waiters.add(check);
      signal.addEventListener('abort', stop, { once: true });
    });
  }
}
