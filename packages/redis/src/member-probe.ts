// Leaving a frozen Redis Cluster member: probe the masters when calls go unanswered, drop the silent ones.
import type { Logger } from '@roster/core';
import type { Cluster, Redis } from 'ioredis';
import type { RequestClock } from './request-clock.js';

/** How a {@link MemberProbe} decides that a member is frozen. */
export interface MemberProbeOptions {
  /** A call unanswered for this long makes the probe PING every master. */
  readonly silentAfterMs: number;
  /** A master that does not answer its PING within this long is dropped. */
  readonly pingTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * A frozen member (SIGSTOP, a hung VM) keeps its sockets open: its kernel still acknowledges
 * TCP, so neither keepalive nor a socket error ever tells the client, and ioredis' Cluster
 * follows a new slot map only after a redirect or a closed connection. Commands sent to the
 * frozen master then wait for the whole freeze, heartbeats with them, and the records expire
 * on the replica that took over (rule 4 of docs/guarantees.md broken for live owners).
 *
 * So while a call has waited longer than `silentAfterMs` (Redis answers in well under a
 * millisecond; the request timeout is far longer), every master gets a PING, and the
 * connection of each one that stays silent is destroyed. ioredis then rejects the commands
 * queued on it with "Connection is closed." and sends them again through the cluster:
 * to the promoted replica once the failover happened (a MOVED from any member, or the refreshed
 * slot map), else to the frozen master again, whose new connection the next probe drops too.
 */
export class MemberProbe {
  private readonly timer: ReturnType<typeof setInterval>;
  private probing = false;
  private stopped = false;

  constructor(
    private readonly client: Cluster,
    private readonly clock: RequestClock,
    private readonly options: MemberProbeOptions,
  ) {
    this.timer = setInterval(() => void this.check(), Math.max(50, Math.floor(options.silentAfterMs / 2)));
    // Only calls in flight matter, and they hold the process open on their own.
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    const since = this.clock.silentSince();
    if (this.probing || this.stopped || since === undefined) return;
    if (Date.now() - since < this.options.silentAfterMs) return;
    this.probing = true;
    try {
      const masters = this.client.nodes('master');
      const silent = await Promise.all(masters.map((node) => this.isSilent(node)));
      const dropped = masters.filter((_, i) => silent[i]);
      if (this.stopped || dropped.length === 0) return;
      for (const node of dropped) {
        this.options.logger.warn(
          `Redis Cluster member ${node.options.host}:${node.options.port} answered no PING within ${this.options.pingTimeoutMs} ms while calls waited: dropping its connection so that they go to the member serving the slot now`,
        );
        // disconnect() alone waits `disconnectTimeout` for a FIN that a frozen server never sends.
        node.disconnect();
        node.stream?.destroy();
      }
      this.client.refreshSlotsCache();
    } finally {
      this.probing = false;
    }
  }

  private isSilent(node: Redis): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), this.options.pingTimeoutMs);
      node.ping().then(
        () => {
          clearTimeout(timer);
          resolve(false);
        },
        // A refused or failed PING is an answer, or a connection ioredis already dropped.
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    });
  }
}
