import { createDiscovery, type NodeDiscovery } from '@roster/core';
import type { BenchAdapter } from '../adapter.js';
import { countingBackend, newTally } from '../counting-backend.js';
import { registration } from '../record.js';
import type { Sizes } from '../sizes.js';
import { sleep, until } from '../stats.js';

export interface IdleCost {
  readonly instances: number;
  readonly seconds: number;
  /** Server counter deltas per node per second (`undefined` when the adapter has no counters). */
  readonly server: Record<string, number> | undefined;
  /** Backend `put`s per node per second, all instances together. */
  readonly puts: number;
  /** Feed changes delivered per node per second, summed over every instance. */
  readonly changes: number;
}

/**
 * `instances` discovery instances in this process, each on its own connection, each owning one node
 * (ttl `idleTtl`, automatic heartbeats), nothing else happening. After every instance lists every
 * node and one more ttl has passed, counters are read before and after `idleWindowMs`.
 * With one node per instance, "per node" is also "per instance".
 */
export async function idleCost(
  adapter: BenchAdapter,
  sizes: Sizes,
  instances: number,
  namespace: (label: string) => string,
): Promise<IdleCost> {
  const ns = namespace(`idle${instances}`);
  const tally = newTally();
  const all: NodeDiscovery[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      const discovery = await createDiscovery({
        backend: countingBackend(adapter.backend(ns), tally),
        ttl: sizes.idleTtl,
      });
      all.push(discovery);
      await discovery.register(registration(`idle-${i}`, i));
    }
    await until(
      () => all.every((d) => d.list().length === instances),
      `${instances} instances to list each other`,
    );
    await sleep(sizes.idleTtl);
    const before = { server: await adapter.counters?.read(), puts: tally.puts, changes: tally.changes };
    const started = performance.now();
    await sleep(sizes.idleWindowMs);
    const after = { server: await adapter.counters?.read(), puts: tally.puts, changes: tally.changes };
    const seconds = (performance.now() - started) / 1000;
    const perNode = (delta: number) => delta / instances / seconds;
    let server: Record<string, number> | undefined;
    if (before.server && after.server) {
      server = {};
      for (const [name, value] of Object.entries(after.server))
        server[name] = perNode(value - (before.server[name] ?? 0));
    }
    const lost = all.filter((d) => d.list().length !== instances).length;
    if (lost > 0) throw new Error(`bench: ${lost} idle instances lost sight of a node`);
    return {
      instances,
      seconds,
      server,
      puts: perNode(after.puts - before.puts),
      changes: perNode(after.changes - before.changes),
    };
  } finally {
    await Promise.all(all.map((d) => d.close()));
  }
}
