import { InvalidOptionsError } from './errors.js';
import { KeyedSerialQueue } from './keyed-serial-queue.js';
import { decodeRecord } from './record-codec.js';
import { MIN_TTL } from './resolve-options.js';
import type { BackendChange, BackendWatch, DiscoveryBackend } from './spi/discovery-backend.js';
import { type Logger, silentLogger } from './types/logger.js';

/** Options of {@link copyRecords}. */
export interface CopyOptions {
  /** Called after each record written, with the running count and the total. */
  onProgress?: (copied: number, total: number) => void;
  /** Also delete, in the target, valid records the source does not have (default false). */
  prune?: boolean;
  /** Writes in flight at once. Default 32. */
  concurrency?: number;
  logger?: Logger;
}

/** What {@link copyRecords} did, and where the source's feed stood when it listed. */
export interface CopyResult {
  readonly copied: number;
  /** Foreign values in the source: left behind (and logged). */
  readonly skipped: number;
  readonly pruned: number;
  /** The source's cursor at the snapshot: hand it to {@link followRecords}. */
  readonly cursor: string;
}

/**
 * Copies every live record of one opened backend into another, byte for byte, so `instanceId`
 * and `registeredAt` survive the move. Each copy restarts the record's TTL in the target: the
 * owners' heartbeats (through a mirror, or `followRecords`) must keep it alive there.
 *
 * @example
 * ```ts
 * const { copied, cursor } = await copyRecords(redis, nats);
 * ```
 */
export async function copyRecords(
  from: DiscoveryBackend,
  to: DiscoveryBackend,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const logger = options.logger ?? silentLogger;
  const snapshot = await from.list();
  const valid = snapshot.entries.filter((entry) => {
    const decoded = decodeRecord(entry.key, entry.value);
    if (!decoded.ok) logger.warn(`not copying "${entry.key}": ${decoded.problem}`, { key: entry.key });
    return decoded.ok;
  });
  let copied = 0;
  let next = 0;
  const worker = async () => {
    while (next < valid.length) {
      const entry = valid[next++]!;
      await to.put(entry.key, entry.value);
      copied += 1;
      options.onProgress?.(copied, valid.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 32) }, worker));
  let pruned = 0;
  if (options.prune) {
    const keep = new Set(valid.map((entry) => entry.key));
    for (const entry of (await to.list()).entries) {
      if (keep.has(entry.key) || !decodeRecord(entry.key, entry.value).ok) continue;
      if (await to.delete(entry.key)) pruned += 1;
    }
  }
  return { copied, skipped: snapshot.entries.length - valid.length, pruned, cursor: snapshot.cursor };
}

/** Options of {@link followRecords}. */
export interface FollowOptions {
  /** Following ends (the promise resolves) when it aborts. */
  signal: AbortSignal;
  /** Called after each change applied to the target. */
  onChange?: (change: Exclude<BackendChange, { type: 'resync' }>) => void;
  logger?: Logger;
  /**
   * The namespace's ttl in ms. Required when the source renews liveness without writes
   * (`from.supports.silentHeartbeats`, e.g. etcd and Redis): its feed never shows a plain
   * heartbeat, so every `ttl / 3` the records the source still holds are written to the target
   * again — otherwise they would expire there while their owners are alive.
   */
  ttl?: number;
}

/**
 * Applies every change of the source after `cursor` to the target, in order per key, until the
 * signal aborts. When the source's feed loses continuity it copies everything again and removes
 * from the target what the source no longer has, then goes on from the new cursor.
 */
export async function followRecords(
  from: DiscoveryBackend,
  to: DiscoveryBackend,
  cursor: string,
  options: FollowOptions,
): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const silentSource = from.supports.silentHeartbeats === true;
  if (silentSource && (options.ttl === undefined || !(options.ttl >= MIN_TTL)))
    throw new InvalidOptionsError(
      `followRecords from the ${from.name} backend needs options.ttl (>= ${MIN_TTL} ms, got ${String(options.ttl)}): ` +
        'its heartbeats renew liveness without writes, so copies are refreshed every ttl / 3',
    );
  const perKey = new KeyedSerialQueue();
  /** Revision of the last change of each key applied from the feed: a refresh never undoes it. */
  const applied = new Map<string, number>();
  let watch: BackendWatch | undefined;
  let resyncing: Promise<void> | undefined;

  const apply = (change: BackendChange) => {
    if (change.type === 'resync') {
      resyncing ??= resync(change.reason).finally(() => {
        resyncing = undefined;
      });
      return;
    }
    void perKey
      .run(change.key, async () => {
        applied.set(change.key, change.revision);
        if (change.type === 'put') {
          if (!decodeRecord(change.key, change.value).ok) return;
          await to.put(change.key, change.value);
        } else {
          await to.delete(change.key);
        }
        options.onChange?.(change);
      })
      .catch((error) => logger.warn(`could not copy the change of "${change.key}"`, { error }));
  };

  const resync = async (reason: string) => {
    logger.info(`the source lost continuity (${reason}): copying everything again`);
    await watch?.stop();
    await perKey.drain();
    for (let attempt = 0; !options.signal.aborted; attempt++) {
      try {
        const { cursor: next } = await copyRecords(from, to, { prune: true, logger });
        if (!options.signal.aborted) watch = from.watch(next, apply);
        return;
      } catch (error) {
        logger.warn('could not copy again; retrying', { error, attempt });
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 200 * 2 ** attempt)));
      }
    }
  };

  /** Writes again what the source still holds, unless the feed has since brought a newer change. */
  const refresh = async () => {
    try {
      const snapshot = await from.list();
      await Promise.all(
        snapshot.entries.map((entry) =>
          perKey.run(entry.key, async () => {
            if ((applied.get(entry.key) ?? -1) > entry.revision || options.signal.aborted) return;
            if (!decodeRecord(entry.key, entry.value).ok) return;
            await to.put(entry.key, entry.value);
          }),
        ),
      );
    } catch (error) {
      logger.warn('could not refresh the copies of silently renewed records; retrying', { error });
    }
  };
  let refreshing: Promise<void> | undefined;
  const refresher = silentSource
    ? setInterval(() => {
        refreshing ??= refresh().finally(() => {
          refreshing = undefined;
        });
      }, options.ttl! / 3)
    : undefined;

  watch = from.watch(cursor, apply);
  await new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(refresher);
  await refreshing;
  await resyncing;
  await watch?.stop();
  await perKey.drain();
}
