import { createDiscovery, silentLogger } from '@roster/core';
import type { BenchAdapter } from '../adapter.js';
import { registration } from '../record.js';
import { type Sizes, SYNC_TTL } from '../sizes.js';
import { collect, median, until } from '../stats.js';

export interface SyncResult {
  readonly nodes: number;
  /** Ms from `createDiscovery()` until `list()` holds every node (median of the repeats). */
  readonly roster: number;
  /** Ms of a raw list over a new connection that parses every record (median). */
  readonly raw: number;
  /** Ms to open a new backend and `list()` it, without core (context: core's share of the sync). */
  readonly backendList: number;
  /** Growth of `heapUsed` per cached node after a full GC (median), bytes. */
  readonly heapPerNode: number;
  /** Growth of `external` (array buffers outside the JS heap) per cached node, bytes. */
  readonly externalPerNode: number;
}

/**
 * A namespace filled with `nodes` records by one owner, then read by a new instance and by the raw
 * client, alternating. Heap: `process.memoryUsage()` after two forced GCs before the new instance
 * opens and while it holds the nodes; the owner's own view is there both times and cancels out.
 */
export async function sync(
  adapter: BenchAdapter,
  sizes: Sizes,
  nodes: number,
  namespace: (label: string) => string,
): Promise<SyncResult> {
  const ns = namespace(`sync${nodes}`);
  const owner = await createDiscovery({ backend: adapter.backend(ns), ttl: SYNC_TTL, autoHeartbeat: false });
  try {
    await owner.registerMany(
      Array.from({ length: nodes }, (_, i) => registration(`n-${i}`, i)),
      { concurrency: 64 },
    );
    const roster: number[] = [];
    const raw: number[] = [];
    const backendList: number[] = [];
    const heap: number[] = [];
    const external: number[] = [];
    for (let repeat = 0; repeat < sizes.syncRepeats; repeat++) {
      let started = performance.now();
      const parsed = await adapter.raw.listParse(ns, nodes, SYNC_TTL);
      raw.push(performance.now() - started);
      if (parsed !== nodes)
        throw new Error(`bench: the raw list parsed ${parsed} records, expected ${nodes}`);

      collect();
      const before = process.memoryUsage();
      started = performance.now();
      const fresh = await createDiscovery({ backend: adapter.backend(ns), ttl: SYNC_TTL });
      await until(() => fresh.list().length >= nodes, `a new instance to list ${nodes} nodes`);
      roster.push(performance.now() - started);
      collect();
      const after = process.memoryUsage();
      if (fresh.list().length !== nodes)
        throw new Error(`bench: a new instance listed ${fresh.list().length} nodes, expected ${nodes}`);
      heap.push((after.heapUsed - before.heapUsed) / nodes);
      external.push((after.external - before.external) / nodes);
      await fresh.close();

      started = performance.now();
      const backend = adapter.backend(ns);
      await backend.open({ ttl: SYNC_TTL, logger: silentLogger });
      const { entries } = await backend.list();
      backendList.push(performance.now() - started);
      await backend.close();
      if (entries.length !== nodes)
        throw new Error(`bench: the backend listed ${entries.length} entries, expected ${nodes}`);
    }
    return {
      nodes,
      roster: median(roster),
      raw: median(raw),
      backendList: median(backendList),
      heapPerNode: median(heap),
      externalPerNode: median(external),
    };
  } finally {
    await owner.close({ unregister: false });
  }
}
