import { createDiscovery } from '@roster/core';
import type { BenchAdapter } from '../adapter.js';
import { recordBytes, registration } from '../record.js';
import type { Sizes } from '../sizes.js';
import { callsPerSecond, median } from '../stats.js';

export interface HeartbeatThroughput {
  /** Median of the rounds, calls per second. */
  readonly roster: number;
  readonly raw: number;
  /** Median calls per second of each context writer, by label. */
  readonly context: { readonly label: string; readonly perSecond: number }[];
}

/**
 * The owner's `heartbeat()` calls per second (not watcher events: on a backend with silent
 * heartbeats a plain heartbeat reaches no watcher) against raw writes of a record of the same size,
 * both with `heartbeatConcurrency` calls in flight. Rounds alternate so that load from elsewhere on
 * the machine hits both sides alike.
 */
export async function heartbeatThroughput(
  adapter: BenchAdapter,
  sizes: Sizes,
  namespace: (label: string) => string,
): Promise<HeartbeatThroughput> {
  const ttl = 30_000;
  const owner = await createDiscovery({
    backend: adapter.backend(namespace('hb')),
    ttl,
    autoHeartbeat: false,
  });
  const writer = await adapter.raw.writer(namespace('rawhb'), ttl);
  const context = await Promise.all(
    (adapter.raw.contextWriters ?? []).map(async (c) => ({
      label: c.label,
      writer: await c.writer(namespace('ctxhb'), ttl),
      rounds: [] as number[],
    })),
  );
  try {
    const ids = Array.from({ length: sizes.heartbeatConcurrency }, (_, i) => `hb-${i}`);
    await owner.registerMany(ids.map((id, i) => registration(id, i)));
    const values = ids.map((id, i) => recordBytes(id, i));
    const roster: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < sizes.heartbeatRounds; round++) {
      roster.push(
        await callsPerSecond(sizes.heartbeatRoundMs, ids.length, (i) => owner.heartbeat(ids[i] as string)),
      );
      raw.push(
        await callsPerSecond(sizes.heartbeatRoundMs, ids.length, (i) =>
          writer.write(ids[i] as string, values[i] as Uint8Array),
        ),
      );
      for (const c of context)
        c.rounds.push(
          await callsPerSecond(sizes.heartbeatRoundMs, ids.length, (i) =>
            c.writer.write(ids[i] as string, values[i] as Uint8Array),
          ),
        );
    }
    return {
      roster: median(roster),
      raw: median(raw),
      context: context.map((c) => ({ label: c.label, perSecond: median(c.rounds) })),
    };
  } finally {
    await Promise.all(context.map((c) => c.writer.close()));
    await writer.close();
    await owner.close({ unregister: false });
  }
}
