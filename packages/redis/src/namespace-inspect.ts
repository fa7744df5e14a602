import { ConfigMismatchError, type NamespaceInspection } from '@roster/core';
import type { Cluster, Redis } from 'ioredis';
import { type KeyLayout, LAYOUT_VERSION } from './key-layout.js';
import { toBackendError } from './redis-errors.js';
import { withinTimeout as withDeadline } from './request-clock.js';

/** What `inspect()` needs of the backend: a client, how to connect it, and whether to drop it after. */
export interface InspectTarget {
  readonly client: Redis | Cluster;
  /** Connects the client within its connect timeout (the backend's own connect, with its errors). */
  readonly connect: () => Promise<void>;
  /** The backend made this client for the look: it is disconnected before `inspect()` settles. */
  readonly owned: boolean;
  readonly keys: KeyLayout;
  readonly namespace: string;
  readonly requestTimeout: number;
}

/**
 * `inspect()` of the Redis backend: one `HGETALL` of the namespace's config hash and nothing
 * else — no script (the open script creates the config and the liveness group when missing), no
 * lease, no sweep — so a read-only look leaves every key as it was. A config written by another
 * layout, or a ttl that is not a number, is a `ConfigMismatchError` as `open()` would report it.
 */
export async function inspectConfig(target: InspectTarget): Promise<NamespaceInspection> {
  const { client, keys, namespace } = target;
  const what = `inspecting namespace "${namespace}"`;
  try {
    const config = await withDeadline(
      target.connect().then(() => client.hgetall(keys.config)),
      target.requestTimeout,
      what,
    );
    if (config.ttl === undefined) return { exists: false };
    if ((config.layout ?? '') !== LAYOUT_VERSION)
      throw new ConfigMismatchError(
        `redis namespace "${namespace}" uses key layout ${JSON.stringify(config.layout ?? '')}; this version of @roster/redis reads layout ${LAYOUT_VERSION} (use another namespace, or remove the old keys {roster:${namespace}}:*)`,
      );
    const ttl = Number(config.ttl);
    if (!Number.isFinite(ttl) || ttl < 1)
      throw new ConfigMismatchError(
        `redis namespace "${namespace}" has a ttl Roster cannot read (${JSON.stringify(config.ttl)} in ${keys.config})`,
      );
    return { exists: true, ttl };
  } catch (error) {
    throw toBackendError(error, what, namespace);
  } finally {
    if (target.owned) client.disconnect();
  }
}
