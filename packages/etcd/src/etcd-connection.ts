// The backend's connection to etcd from open() to close(): the client, its members' health, the keep-alive streams, and the namespace's lease plan and supply.
import { type Logger, silentLogger } from '@roster/core';
import { requestTimedOut, withDeadline } from '@roster/core/spi';
import type { Etcd3 } from 'etcd3';
import {
  createClient,
  type EtcdBackendOptions,
  type EtcdSettings,
  hostList,
} from './etcd-backend-options.js';
import { callOptions, type EtcdCalls } from './etcd-calls.js';
import { HostHealth } from './host-health.js';
import { LeaseKeepAlive } from './lease-keep-alive.js';
import type { LeaseSupply } from './lease-supply.js';
import type { LeasePlan } from './lease-ttl.js';
import { openNamespace } from './namespace-open.js';
import type { ObservedWrites } from './observed-writes.js';

/**
 * What an open backend runs on. Everything here is undefined until {@link connect} and stays set
 * after {@link close} (a late call finds the client closed, not missing); the backend's lifecycle
 * decides which calls may run.
 */
export class EtcdConnection {
  client: Etcd3 | undefined;
  keepAlive: LeaseKeepAlive | undefined;
  /** Which members of a client made here stopped answering (see host-health.ts). */
  health: HostHealth | undefined;
  supply: LeaseSupply | undefined;
  plan: LeasePlan | undefined;
  /** Only with the `observed` plan: how long this process has held each key's revision. */
  observed: ObservedWrites | undefined;
  logger: Logger = silentLogger;

  constructor(
    private readonly options: EtcdBackendOptions,
    private readonly settings: EtcdSettings,
    private readonly calls: EtcdCalls,
  ) {}

  /** Makes the client (unless one was given) and its keep-alive streams; nothing is sent yet. */
  connect(logger: Logger): void {
    this.logger = logger;
    // Only a client made here can be steered away from a member that stopped answering.
    const health = this.options.client ? undefined : new HostHealth(hostList(this.options));
    this.health = health;
    this.client = this.options.client ?? createClient(this.options, health);
    this.keepAlive = new LeaseKeepAlive(this.client, this.settings.requestTimeout, health);
  }

  /**
   * Claims or checks the namespace and chooses the lease plan (namespace-open.ts), within
   * `connectTimeout`. Rejects with the raw failure: the caller closes and maps it.
   */
  async openNamespace(ttl: number): Promise<void> {
    const { connectTimeout, hosts, namespace, requestTimeout } = this.settings;
    const client = this.client!;
    await withDeadline(
      async (deadline) => {
        const opened = await openNamespace(client, this.settings, ttl, deadline, this.logger, {
          grant: () => this.grant(Date.now() + requestTimeout),
          revoke: (id) => this.revoke(id),
          renew: (id) => void this.keepAlive?.renew(id).catch(() => {}),
        });
        this.plan = opened.plan;
        this.observed = opened.observed;
        this.supply = opened.supply;
      },
      connectTimeout,
      () =>
        requestTimedOut({
          server: `etcd at ${hosts}`,
          what: `opening namespace "${namespace}"`,
          timeout: connectTimeout,
          option: 'connectTimeout',
        }),
    );
  }

  /** A fresh lease of the plan's TTL. */
  grant(deadline: number): Promise<string> {
    return this.calls.grant(this.plan!.seconds, deadline);
  }

  /** Fire and forget: a lease nobody revokes runs out on the server by itself. */
  revoke(lease: string): void {
    this.client?.leaseClient
      .leaseRevoke({ ID: lease }, callOptions(Date.now() + this.settings.requestTimeout))
      .catch(() => {});
  }

  /**
   * Stops the keep-alive streams and closes a client made here, without waiting on the server.
   * Spare leases are left to run out on the server (seconds): revoking them could keep a call,
   * and the process, waiting on a frozen server.
   */
  close(): void {
    this.supply?.close();
    this.keepAlive?.close();
    if (this.settings.ownsClient) this.client?.close();
  }
}
