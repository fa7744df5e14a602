// The observed plan's clock: how long this process has seen each key at the same revision.
import { performance } from 'node:perf_hooks';

/**
 * For the `observed` lease plan: when this process first held each key's current revision, by
 * its own monotonic clock. A record is expired once its revision is `ttl` old here: no two
 * machines' clocks are compared (rule 16 of docs/guarantees.md), and since a revision is only
 * ever learnt after it was written, a record is never expired before ttl after its write.
 */
export class ObservedWrites {
  private readonly held = new Map<string, { revision: number; since: number }>();

  constructor(
    private readonly ttl: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `key` is at `revision`; a revision already held keeps its first sighting. */
  seen(key: string, revision: number): void {
    const known = this.held.get(key);
    if (known && known.revision >= revision) return;
    this.held.set(key, { revision, since: this.now() });
  }

  /** `key` is gone (as of `revision` when given: a revision held since then is kept). */
  forget(key: string, revision = Number.POSITIVE_INFINITY): void {
    if ((this.held.get(key)?.revision ?? 0) < revision) this.held.delete(key);
  }

  /** True when `key` has been at `revision` for at least ttl. */
  stale(key: string, revision: number): boolean {
    const known = this.held.get(key);
    return known !== undefined && known.revision === revision && this.now() - known.since >= this.ttl;
  }
}
