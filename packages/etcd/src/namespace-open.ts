// Opening a namespace on etcd: its config key claimed (or checked), then the lease plan chosen
// from the shortest lease the server grants, and the supply of fresh leases.
import type { Logger } from '@roster/core';
import type { Etcd3 } from 'etcd3';
import type { EtcdSettings } from './etcd-backend-options.js';
import { callOptions } from './etcd-calls.js';
import { LeaseSupply } from './lease-supply.js';
import { type LeasePlan, planLeases, requestedSeconds } from './lease-ttl.js';
import { claimNamespace } from './namespace-config.js';
import { ObservedWrites } from './observed-writes.js';

/** What an open namespace's writes run on. */
export interface OpenedNamespace {
  readonly plan: LeasePlan;
  /** Only with the `observed` plan: how long this process has held each key's revision. */
  readonly observed: ObservedWrites | undefined;
  readonly supply: LeaseSupply;
}

/** The backend's lease calls, which the supply uses to keep its spares. */
export interface SupplyCalls {
  grant(): Promise<string>;
  revoke(lease: string): void;
  renew(lease: string): void;
}

/**
 * Claims (or checks) the namespace's config key, then probes the shortest lease the server
 * grants to choose the lease plan.
 */
export async function openNamespace(
  client: Etcd3,
  settings: EtcdSettings,
  ttl: number,
  deadline: number,
  logger: Logger,
  calls: SupplyCalls,
): Promise<OpenedNamespace> {
  await claimNamespace(client, settings.layout, settings.namespace, ttl, deadline);
  const grantedAt = Date.now();
  const probe = await client.leaseClient.leaseGrant({ TTL: requestedSeconds(ttl) }, callOptions(deadline));
  const plan = planLeases(ttl, Number(probe.TTL));
  let observed: ObservedWrites | undefined;
  if (plan.mode === 'observed') {
    observed = new ObservedWrites(ttl);
    logger.info(
      `etcd at ${settings.hosts} grants no lease shorter than ${plan.seconds} s, too long for ttl ${ttl} ms: ` +
        'heartbeats are record writes and watchers time expiry themselves (see the @roster/etcd README)',
    );
  }
  const supply = new LeaseSupply(calls.grant, calls.revoke, calls.renew, plan.seconds);
  // The probe becomes the first new node's lease rather than a wasted grant.
  supply.offer(probe.ID, grantedAt);
  return { plan, observed, supply };
}
