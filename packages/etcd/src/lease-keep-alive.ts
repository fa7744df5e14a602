// One-shot lease renewals over a few LeaseKeepAlive streams (etcd3's own keep-alive renews forever).
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import { HEDGE_MS, hedged } from './hedge.js';
import type { HostHealth } from './host-health.js';

type KeepAliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

interface Waiter {
  resolve(ttl: number): void;
  reject(error: Error): void;
}

/**
 * Streams opened at most; a renewal waits on a stream only when all of them are busy. etcd
 * serves one stream's renewals one after the other, and they slow down under write load: many
 * streams keep the heartbeats of many nodes from queueing.
 */
const MAX_STREAMS = 32;
/** A stream whose oldest renewal has waited this long takes no more renewals while others can. */
const STALLED_MS = 200;

/** One LeaseKeepAlive stream and the renewals it has not answered yet, per lease id in order. */
class Channel {
  readonly waiting = new Map<string, Waiter[]>();
  /** When each unanswered renewal was sent, oldest first (etcd answers a stream in order). */
  readonly sentAt: number[] = [];
  pending = 0;
  broken = false;

  /** The stream once open: its member is reported to {@link HostHealth} when it does not answer. */
  opened: KeepAliveStream | undefined;
  /** When the stream last answered anything. */
  answeredAt = 0;

  constructor(readonly stream: Promise<KeepAliveStream>) {}
}

/**
 * One-shot lease renewals over a few long-lived LeaseKeepAlive streams. etcd3's
 * `lease.keepaliveOnce()` opens a fresh stream per call, and its `Lease` keeps leases alive on a
 * timer on its own, which is exactly what a per-key TTL must not do: here a lease is renewed only
 * when the caller asks (a write or a heartbeat), so a key whose owner stops runs out.
 *
 * etcd answers the requests of one stream in order, and it holds the answer to a lease that has
 * just expired until that lease is revoked (up to a lessor tick and a raft round): everything
 * queued behind it on the same stream waits too, and under load those leases would run out in
 * turn. So a renewal goes to an idle stream, a new one is opened (up to 32) when none is idle, a
 * stream whose oldest renewal has waited 200 ms takes no more while another can, and a stream
 * that does not answer within the timeout is dropped with its renewals. Streams are opened only
 * as renewals overlap: an idle process keeps one.
 */
export class LeaseKeepAlive {
  private channels: Channel[] = [];
  private closed = false;

  constructor(
    private readonly client: Etcd3,
    private readonly timeoutMs: number,
    /** Told of a stream that did not answer in time, so that the next stream opens on another member. */
    private readonly health?: HostHealth,
  ) {}

  /**
   * Renews `leaseId` once; resolves with its TTL in seconds, 0 (or less) when the lease no longer
   * exists. On a cluster, a renewal whose stream has answered nothing at all within
   * {@link HEDGE_MS} is sent again on another stream (a renewal applied twice only ends the lease
   * that much later), and the silent stream's member is avoided for a moment, so the new stream
   * opens on another: a stream on a frozen member would otherwise hold the renewal for the whole
   * request timeout. A stream that answers other renewals meanwhile is only slow (write load, a
   * lease ahead of it that ran out): sending again there would add load, not speed.
   */
  async renew(leaseId: string): Promise<number> {
    if (this.closed) throw new Error('the lease keep-alive channel is closed');
    const channel = this.pick();
    const first = this.renewOn(channel, leaseId);
    if (!this.health?.several) return first;
    const sentAt = Date.now();
    const silent = () => channel.opened !== undefined && channel.answeredAt < sentAt;
    return hedged(first, HEDGE_MS, () => {
      if (this.closed || !silent()) return first;
      this.health?.streamStalled(channel.opened!);
      return this.renewOn(this.pick(), leaseId);
    });
  }

  private async renewOn(channel: Channel, leaseId: string): Promise<number> {
    channel.pending++;
    let stream: KeepAliveStream;
    try {
      stream = await channel.stream;
    } catch (error) {
      channel.pending--;
      throw error;
    }
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`etcd did not answer a lease keep-alive within ${this.timeoutMs} ms`);
        if (channel.opened && !channel.broken) this.health?.streamFailed(channel.opened);
        waiter.reject(error);
        this.fail(channel, error);
      }, this.timeoutMs);
      const waiter: Waiter = {
        resolve: (ttl) => {
          clearTimeout(timer);
          resolve(ttl);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      if (channel.broken) {
        waiter.reject(new Error('the lease keep-alive stream broke'));
        return;
      }
      let queue = channel.waiting.get(leaseId);
      if (!queue) {
        queue = [];
        channel.waiting.set(leaseId, queue);
      }
      queue.push(waiter);
      try {
        channel.sentAt.push(Date.now());
        stream.write({ ID: leaseId });
      } catch (error) {
        this.fail(channel, error as Error);
      }
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const channel of this.channels)
      this.fail(channel, new Error('the lease keep-alive channel was closed'));
  }

  /**
   * The idle stream, else a new one (up to the cap), else the least busy stream that is not
   * stalled: one whose oldest renewal has waited past {@link STALLED_MS} is most likely held by
   * a lease that just ran out, and whatever joins its queue waits for that lease's revoke.
   */
  private pick(): Channel {
    const now = Date.now();
    let best: Channel | undefined;
    let bestStalled: Channel | undefined;
    for (const channel of [...this.channels]) {
      // A stream on a member that stopped answering: another stream would wait just the same.
      // Dropped when idle, which frees its place for a stream on another member.
      if (channel.opened && this.health?.avoidsStream(channel.opened)) {
        if (channel.pending === 0) this.fail(channel, new Error('the etcd member stopped answering'));
        continue;
      }
      const stalled = channel.sentAt.length > 0 && now - channel.sentAt[0]! > STALLED_MS;
      if (stalled) {
        if (!bestStalled || channel.pending < bestStalled.pending) bestStalled = channel;
      } else if (!best || channel.pending < best.pending) best = channel;
    }
    if (best && (best.pending === 0 || this.channels.length >= MAX_STREAMS)) return best;
    if (this.channels.length < MAX_STREAMS) return this.open();
    // Every stream is busy on a member that stopped answering: wait on one all the same.
    return bestStalled ?? this.channels[0]!;
  }

  private open(): Channel {
    const channel = new Channel(this.client.leaseClient.leaseKeepAlive());
    this.channels.push(channel);
    channel.stream.then(
      (stream) => {
        channel.opened = stream;
        if (channel.broken) {
          endQuietly(stream);
          return;
        }
        stream.on('data', (response) => {
          channel.answeredAt = Date.now();
          channel.sentAt.shift();
          const queue = channel.waiting.get(response.ID);
          const waiter = queue?.shift();
          if (queue && queue.length === 0) channel.waiting.delete(response.ID);
          if (!waiter) return;
          channel.pending--;
          waiter.resolve(Number(response.TTL));
        });
        stream.on('error', (error) => this.fail(channel, error));
        stream.on('end', () => this.fail(channel, new Error('etcd ended the lease keep-alive stream')));
      },
      (error: Error) => this.fail(channel, error),
    );
    return channel;
  }

  private fail(channel: Channel, error: Error): void {
    if (channel.broken) return;
    channel.broken = true;
    this.channels = this.channels.filter((c) => c !== channel);
    void channel.stream.then(endQuietly, () => {});
    const queues = [...channel.waiting.values()];
    channel.waiting.clear();
    for (const queue of queues) for (const waiter of queue) waiter.reject(error);
  }
}

/**
 * Half-closes before cancelling: etcd3 resets every grpc client of the host when a stream that is
 * still writable errors (a cancel counts), which would break the other streams of this client.
 */
export function endQuietly(stream: { end(): void; cancel(): void }): void {
  try {
    stream.end();
  } catch {
    // already ended
  }
  try {
    stream.cancel();
  } catch {
    // already cancelled
  }
}
