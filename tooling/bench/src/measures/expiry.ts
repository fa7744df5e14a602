import { createDiscovery } from '@roster/core';
import type { BenchAdapter } from '../adapter.js';
import { registration } from '../record.js';
import type { Sizes } from '../sizes.js';
import { sleep } from '../stats.js';

export interface ExpiryResult {
  readonly ttl: number;
  readonly nodes: number;
  /** Ms past `lastSeen + ttl` at which a watcher got `left` `expired`, one per node seen. */
  readonly roster: number[];
  /** Nodes that left with another reason, or never left within the wait. */
  readonly wrong: number;
  /** Ms past write + ttl at which the raw client was told (when the store tells). */
  readonly raw: number[] | undefined;
}

/**
 * `expiryNodes` nodes registered one after another over one ttl (so deadlines do not coincide),
 * then their owner stops without unregistering. The watcher is another instance on its own
 * connection; the delay is taken against the `lastSeen` the owner wrote (same process, same clock).
 */
export async function expiry(
  adapter: BenchAdapter,
  sizes: Sizes,
  namespace: (label: string) => string,
): Promise<ExpiryResult> {
  const ttl = sizes.expiryTtl;
  const ns = namespace('exp');
  // reregister: false — the first node expires before the last one is registered, and a
  // re-registration would expire again and count twice.
  const owner = await createDiscovery({
    backend: adapter.backend(ns),
    ttl,
    autoHeartbeat: false,
    reregister: false,
  });
  const watcher = await createDiscovery({ backend: adapter.backend(ns), ttl });
  const controller = new AbortController();
  const roster: number[] = [];
  const left = new Set<string>();
  let wrong = 0;
  const watching = (async () => {
    for await (const event of watcher.watch({ signal: controller.signal, includeExisting: false })) {
      if (event.type !== 'left') continue;
      // A second `left` for one node (no re-registration here) is a violation: count it wrong.
      if (left.has(event.node.id)) wrong++;
      else if (event.reason === 'expired') roster.push(Date.now() - event.node.lastSeen - ttl);
      else wrong++;
      left.add(event.node.id);
    }
  })();
  try {
    for (let i = 0; i < sizes.expiryNodes; i++) {
      await owner.register(registration(`e-${i}`, i));
      await sleep(ttl / sizes.expiryNodes);
    }
    await owner.close({ unregister: false });
    const deadline = Date.now() + ttl + Math.max(1_000, ttl / 4) + 5_000;
    while (left.size < sizes.expiryNodes && Date.now() < deadline) await sleep(20);
  } finally {
    controller.abort();
    await watching;
    await watcher.close();
    await owner.close({ unregister: false });
  }
  const missing = sizes.expiryNodes - left.size;
  return {
    ttl,
    nodes: sizes.expiryNodes,
    roster,
    wrong: wrong + missing,
    raw: await rawExpiry(adapter, sizes, namespace),
  };
}

async function rawExpiry(
  adapter: BenchAdapter,
  sizes: Sizes,
  namespace: (label: string) => string,
): Promise<number[] | undefined> {
  if (!adapter.raw.expiry) return undefined;
  const ttl = sizes.expiryTtl;
  const written = new Map<string, number>();
  const delays: number[] = [];
  const raw = await adapter.raw.expiry.open(namespace('rawexp'), ttl, (key) => {
    const at = written.get(key);
    if (at !== undefined) delays.push(Date.now() - at - ttl);
  });
  try {
    for (let i = 0; i < sizes.expiryNodes; i++) {
      const key = `e-${i}`;
      const before = Date.now();
      await raw.write(key);
      written.set(key, before);
      await sleep(ttl / sizes.expiryNodes);
    }
    const deadline = Date.now() + ttl + Math.max(1_000, ttl / 4) + 5_000;
    while (delays.length < sizes.expiryNodes && Date.now() < deadline) await sleep(20);
  } finally {
    await raw.close();
  }
  return delays.length > 0 ? delays : undefined;
}
