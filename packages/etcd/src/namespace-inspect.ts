import {
  BackendUnavailableError,
  ConfigMismatchError,
  DiscoveryError,
  type NamespaceInspection,
} from '@roster/core';
import { withDeadline } from '@roster/core/spi';
import type { Etcd3 } from 'etcd3';
import { callOptions } from './etcd-calls.js';
import { toBackendError } from './etcd-errors.js';
import type { KeyLayout } from './key-layout.js';
import { parseConfig } from './namespace-config.js';

/** What `inspect()` needs of the backend. */
export interface InspectTarget {
  readonly client: Etcd3;
  /** The backend made this client for the look: it is closed before `inspect()` settles. */
  readonly owned: boolean;
  readonly layout: KeyLayout;
  readonly namespace: string;
  readonly hosts: string;
  /** Ms the look may take, connecting included (the backend's connect timeout). */
  readonly timeout: number;
}

/**
 * `inspect()` of the etcd backend: one range read of the namespace's config key — no transaction,
 * no lease grant — so a read-only look creates no revision and no lease. The config is the one
 * `open()` writes (`{"v":1,"ttl":…}`); one Roster cannot read is a `ConfigMismatchError`, as
 * `open()` would report it.
 */
export async function inspectConfigKey(target: InspectTarget): Promise<NamespaceInspection> {
  const { client, layout, namespace, hosts, timeout } = target;
  try {
    const response = await withDeadline(
      (deadline) => client.kv.range({ key: layout.config }, callOptions(deadline)),
      timeout,
      () =>
        new BackendUnavailableError(
          `etcd at ${hosts} did not answer within ${timeout} ms (connectTimeout); could not inspect namespace "${namespace}"`,
        ),
    );
    const value = response.kvs[0]?.value;
    if (!value) return { exists: false };
    const ttl = parseConfig(value);
    if (ttl === undefined)
      throw new ConfigMismatchError(
        `etcd namespace "${namespace}" (key ${layout.config.toString()}) exists with a config Roster cannot read (${value.toString()})`,
      );
    return { exists: true, ttl };
  } catch (error) {
    if (error instanceof DiscoveryError) throw error;
    throw toBackendError(error, `inspect namespace "${namespace}"`, hosts);
  } finally {
    if (target.owned) client.close();
  }
}
