import { createDiscovery } from '@roster/core';
import type { BenchAdapter } from '../adapter.js';
import { recordBytes, registration } from '../record.js';
import type { Sizes } from '../sizes.js';
import { until } from '../stats.js';

export interface Propagation {
  /** Ms from `register()` to `joined` at another instance. */
  readonly roster: number[];
  /** Ms from a raw put to its arrival at a raw watch on another connection. */
  readonly raw: number[];
}

/** Sequential samples, Roster and raw alternating sample by sample; the first few are not kept. */
export async function propagation(
  adapter: BenchAdapter,
  sizes: Sizes,
  namespace: (label: string) => string,
): Promise<Propagation> {
  const ns = namespace('prop');
  const writer = await createDiscovery({ backend: adapter.backend(ns), ttl: 60_000, autoHeartbeat: false });
  const reader = await createDiscovery({ backend: adapter.backend(ns), ttl: 60_000 });
  const feed = await adapter.raw.feed(namespace('rawprop'));
  const joined = new Map<string, number>();
  const arrived = new Map<string, number>();
  const controller = new AbortController();
  const watching = (async () => {
    for await (const event of reader.watch({ signal: controller.signal, includeExisting: false }))
      if (event.type === 'joined') joined.set(event.node.id, performance.now());
  })();
  feed.onPut((key) => arrived.set(key, performance.now()));
  const roster: number[] = [];
  const raw: number[] = [];
  try {
    for (let i = 0; i < sizes.propagationWarmup + sizes.propagationSamples; i++) {
      const id = `p-${i}`;
      const keep = i >= sizes.propagationWarmup;
      let started = performance.now();
      await feed.put(id, recordBytes(id, i));
      await until(() => arrived.has(id), `the raw watch to deliver ${id}`, 10_000);
      if (keep) raw.push((arrived.get(id) as number) - started);
      started = performance.now();
      await writer.register(registration(id, i));
      await until(() => joined.has(id), `joined ${id} at the other instance`, 10_000);
      if (keep) roster.push((joined.get(id) as number) - started);
    }
    return { roster, raw };
  } finally {
    controller.abort();
    await watching;
    await feed.close();
    await writer.close({ unregister: false });
    await reader.close();
  }
}
