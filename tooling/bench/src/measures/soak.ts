import { createDiscovery } from '@roster/core';
import type { BenchAdapter } from '../adapter.js';
import { countingBackend, newTally } from '../counting-backend.js';
import { registration } from '../record.js';
import type { Sizes } from '../sizes.js';
import { quantile, sleep } from '../stats.js';

export interface SoakResult {
  readonly nodes: number;
  readonly ttl: number;
  readonly seconds: number;
  /** Nodes the owner lost (`onOwnNodeLost`) or saw `left` in its own view during the window. */
  readonly lost: number;
  /** Records a raw list found at the end (must be `nodes`). */
  readonly listed: number;
  /** Plain heartbeats (`refreshOnly` puts) per second. */
  readonly heartbeatsPerSecond: number;
  /** Other puts during the window (re-registrations): should be none. */
  readonly otherPuts: number;
  /** Server counter deltas per second during the window, when the adapter has counters. */
  readonly server: Record<string, number> | undefined;
  /** Ms: gap between the starts of successive heartbeats of one node minus the interval. */
  readonly delayP50: number;
  readonly delayP99: number;
  /** Ms: the longest gap between successive heartbeats of one node. */
  readonly maxGap: number;
  readonly gaps: number;
}

/**
 * One instance owns `soakNodes` nodes at ttl `soakTtl` with automatic heartbeats (interval
 * ttl / 3, jittered ±10 %) for `soakSeconds`. The backend is wrapped to time each plain heartbeat
 * as core starts it: delay = start of a node's heartbeat − start of its previous one − the
 * interval. That includes the jitter (up to +10 % of the interval) and the previous heartbeat's
 * round trip (the next wait starts when it settles), so it is an upper bound on lateness.
 */
export async function soak(
  adapter: BenchAdapter,
  sizes: Sizes,
  namespace: (label: string) => string,
): Promise<SoakResult> {
  const ttl = sizes.soakTtl;
  const interval = ttl / 3;
  const ns = namespace('soak');
  const tally = newTally();
  const lastStart = new Map<string, number>();
  const delays: number[] = [];
  let maxGap = 0;
  let measuring = false;
  const onHeartbeat = (key: string) => {
    const now = performance.now();
    const previous = lastStart.get(key);
    lastStart.set(key, now);
    if (!measuring || previous === undefined) return;
    const gap = now - previous;
    if (gap > maxGap) maxGap = gap;
    delays.push(gap - interval);
  };
  let lost = 0;
  const owner = await createDiscovery({
    backend: countingBackend(adapter.backend(ns), tally, onHeartbeat),
    ttl,
    onOwnNodeLost: () => {
      if (measuring) lost++;
    },
  });
  const controller = new AbortController();
  const watching = (async () => {
    for await (const event of owner.watch({ signal: controller.signal, includeExisting: false }))
      if (event.type === 'left' && measuring) lost++;
  })();
  try {
    await owner.registerMany(
      Array.from({ length: sizes.soakNodes }, (_, i) => registration(`s-${i}`, i)),
      { concurrency: 64 },
    );
    measuring = true;
    const before = { server: await adapter.counters?.read(), heartbeats: tally.heartbeats, puts: tally.puts };
    const started = performance.now();
    await sleep(sizes.soakSeconds * 1000);
    const after = { server: await adapter.counters?.read(), heartbeats: tally.heartbeats, puts: tally.puts };
    const seconds = (performance.now() - started) / 1000;
    measuring = false;
    const listed = await adapter.raw.listParse(ns, sizes.soakNodes, ttl);
    let server: Record<string, number> | undefined;
    if (before.server && after.server) {
      server = {};
      for (const [name, value] of Object.entries(after.server))
        server[name] = (value - (before.server[name] ?? 0)) / seconds;
    }
    const heartbeats = after.heartbeats - before.heartbeats;
    return {
      nodes: sizes.soakNodes,
      ttl,
      seconds,
      lost: lost + (sizes.soakNodes - owner.list().length),
      listed,
      heartbeatsPerSecond: heartbeats / seconds,
      otherPuts: after.puts - before.puts - heartbeats,
      server,
      delayP50: quantile(delays, 0.5),
      delayP99: quantile(delays, 0.99),
      maxGap,
      gaps: delays.length,
    };
  } finally {
    controller.abort();
    await watching;
    await owner.close({ unregister: false });
  }
}
