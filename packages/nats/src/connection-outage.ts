// Follows the connection's status: logs drops, holds calls during an outage, resyncs on reconnect.
import type { NatsConnection, Status } from '@nats-io/transport-node';
import { BackendUnavailableError, type Logger } from '@roster/core';

/**
 * A request published while the connection is down is lost and only fails at its timeout, even
 * when the client is back long before; and every feed loses continuity when the connection drops.
 * So while the connection is down calls wait for the reconnect (see `waitUntilUp`), and on the
 * reconnect the feeds are told to re-list (`onReconnect`).
 */
export class ConnectionOutage {
  private readonly iterator: AsyncIterable<Status> & { stop?: () => void };
  /** Set while the connection is down, resolved by the reconnect (or by `stop()`). */
  private outage: { promise: Promise<void>; resolve: () => void } | undefined;
  private stopped = false;

  constructor(
    nc: NatsConnection,
    private readonly logger: Logger,
    private readonly onReconnect: (server: string) => void,
  ) {
    this.iterator = nc.status() as AsyncIterable<Status> & { stop?: () => void };
    void this.follow().catch(() => {});
  }

  /** Whether the connection is down right now. */
  get down(): boolean {
    return this.outage !== undefined;
  }

  /** Resolves at once when the connection is up, else at the reconnect; false after `ms` without one. */
  async waitUntilUp(ms: number): Promise<boolean> {
    const outage = this.outage;
    if (!outage) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    });
    const result = await Promise.race([outage.promise, timeout]);
    clearTimeout(timer);
    return result !== 'timeout';
  }

  /** Waits out an outage (see `waitUntilUp`); `BackendUnavailableError` naming `server` after `ms`. */
  async ensureUp(ms: number, server: string): Promise<void> {
    if (!(await this.waitUntilUp(ms)))
      throw new BackendUnavailableError(`NATS at ${server} is unreachable (reconnecting for over ${ms} ms)`);
  }

  /** Ends the status loop and releases every call waiting for a reconnect. */
  stop(): void {
    this.stopped = true;
    this.iterator.stop?.();
    this.outage?.resolve();
  }

  private async follow(): Promise<void> {
    for await (const status of this.iterator) {
      if (this.stopped) return;
      switch (status.type) {
        case 'disconnect':
          this.logger.warn(`disconnected from NATS at ${status.server}; reconnecting`, {
            server: status.server,
          });
          if (!this.outage) {
            let resolve!: () => void;
            const promise = new Promise<void>((done) => {
              resolve = done;
            });
            this.outage = { promise, resolve };
          }
          break;
        case 'reconnect':
          this.logger.info(`reconnected to NATS at ${status.server}`, { server: status.server });
          this.outage?.resolve();
          this.outage = undefined;
          this.onReconnect(status.server);
          break;
        case 'staleConnection':
          // Pings unanswered: the server is frozen or cut off while its socket stays open. nats.js
          // drops the connection now and dials another member (see unresponsive-server.ts).
          this.logger.warn('the NATS server stopped answering pings; leaving it for another server');
          break;
        case 'error':
          this.logger.warn('NATS connection error', { error: status.error });
          break;
        default:
          break;
      }
    }
  }
}
