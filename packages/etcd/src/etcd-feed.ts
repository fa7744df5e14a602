// watch() on etcd: an etcd watch from a revision, with deletes told apart (unregistered or expired), resync on compaction.
import type { Logger } from '@roster/core';
import type { BackendChange, BackendWatch } from '@roster/core/spi';
import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { FeedLiveness } from './feed-liveness.js';
import type { HostHealth } from './host-health.js';
import { type KeyLayout, prefixEnd } from './key-layout.js';
import { endQuietly } from './lease-keep-alive.js';

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

/** Value of `leaves/<id>` when an observer removed a record its owner stopped writing (the `observed` lease plan). */
export const EXPIRED_MARKER = Buffer.from('expired');

/**
 * The change feed of one namespace from a list's revision, on a watch stream of its own.
 *
 * etcd3's `WatchBuilder` is not used on purpose: after a reconnect it resumes from the revision of
 * the last *header* it saw (the creation response's header revision included), so events between
 * the requested start and that header can be skipped when the stream breaks during a catch-up, and
 * a server that came back with less data than before is not noticed. Here any break — stream error
 * or end, cancellation, compaction — ends the feed with `resync`: core lists again at a new
 * revision and watches from there, which is gap-free by construction.
 *
 * Expiry is told from removal exactly, from what happened in the same revision: an explicit delete
 * writes `leaves/<id>` (empty) in its transaction, an observer that expired a silent record writes
 * it with the value `expired`; a lease that runs out deletes every key attached to it at once,
 * `history/<id>` included. A delete with none of these (another tool removed the key) carries no
 * reason and core infers one.
 *
 * On a cluster, a member that stops answering (frozen) takes the watch with it: see
 * `feed-liveness.ts`. The watch is then opened again on another member from the revision after the
 * last one delivered — etcd sends all events of a revision in one response, so nothing is missed or
 * repeated — and the view lags by seconds, not until the member thaws. This is not a break: no
 * resync, no re-list.
 */
export class EtcdFeed implements BackendWatch {
  private stream: WatchStream | undefined;
  private stopped = false;
  private finished = false;
  /** The revision a watch opened now starts from: the one after the last delivered. */
  private next: number;
  /** Only on a cluster whose members the client can be steered away from (a client made here). */
  private readonly liveness: FeedLiveness | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly layout: KeyLayout,
    startRevision: number,
    private readonly onChange: (change: BackendChange) => void,
    private readonly logger: Logger,
    private readonly health?: HostHealth,
  ) {
    this.next = startRevision;
    if (health?.several)
      this.liveness = new FeedLiveness({
        probe: () => this.probe(),
        silent: (quietMs) => this.move(quietMs),
        memberSuspect: () => this.stream !== undefined && health.avoidsStream(this.stream),
      });
    this.open();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.close();
  }

  private open(): void {
    this.client.watchClient.watch().then(
      (stream) => this.attach(stream),
      (error: Error) => this.resync(`could not open an etcd watch stream: ${error.message}`),
    );
  }

  private attach(stream: WatchStream): void {
    if (this.stopped || this.finished) {
      endQuietly(stream);
      return;
    }
    this.stream = stream;
    const startRevision = this.next;
    // Only the current stream speaks for the feed: one given up on may still answer once its member thaws.
    const current = () => this.stream === stream;
    stream.on('data', (response) => {
      if (!current()) return;
      this.liveness?.heard();
      this.receive(response, startRevision);
    });
    stream.on('error', (error) => {
      if (current()) this.resync(`the etcd watch stream failed: ${error.message}`);
    });
    stream.on('end', () => {
      if (current()) this.resync('etcd ended the watch stream');
    });
    try {
      stream.write({
        create_request: {
          key: this.layout.namespacePrefix,
          range_end: prefixEnd(this.layout.namespacePrefix),
          start_revision: startRevision,
        },
      });
      this.liveness?.start();
    } catch (error) {
      this.resync(`could not start the etcd watch: ${(error as Error).message}`);
    }
  }

  /** Asks the member to say where the watch stands: any answer shows it is alive. */
  private probe(): void {
    try {
      this.stream?.write({ progress_request: {} });
    } catch {
      // A stream that cannot be written to ends or errors on its own: a resync follows.
    }
  }

  /**
   * The stream's member said nothing for `quietMs`: it is avoided (host-health.ts) and the watch is
   * opened again, on another member, from the revision after the last one delivered.
   */
  private move(quietMs: number): void {
    const stream = this.stream;
    if (this.stopped || this.finished || !stream) return;
    this.health?.streamFailed(stream);
    this.stream = undefined;
    endQuietly(stream);
    this.logger.debug(
      `the etcd member serving the watch said nothing for ${quietMs} ms; watching from revision ${this.next} on another member`,
    );
    this.open();
  }

  private receive(response: IWatchResponse, startRevision: number): void {
    if (this.stopped || this.finished) return;
    if (response.canceled) {
      const compacted = Number(response.compact_revision);
      this.resync(
        compacted > 0
          ? `etcd compacted its history to revision ${compacted}; the watch needed revision ${startRevision} or later`
          : `etcd canceled the watch: ${response.cancel_reason || 'no reason given'}`,
      );
      return;
    }
    if (response.events.length === 0) return;
    this.deliverAll(response.events);
    this.next = Math.max(this.next, Number(response.events[response.events.length - 1]!.kv.mod_revision) + 1);
  }

  private deliverAll(events: IEvent[]): void {
    const explicit = new Set<string>();
    const leaseEnded = new Set<string>();
    for (const event of events) {
      const parsed = this.layout.parse(event.kv.key);
      if (parsed?.kind === 'leave' && event.type === 'Put')
        (EXPIRED_MARKER.equals(event.kv.value) ? leaseEnded : explicit).add(
          `${parsed.id}@${event.kv.mod_revision}`,
        );
      if (parsed?.kind === 'history' && event.type === 'Delete')
        leaseEnded.add(`${parsed.id}@${event.kv.mod_revision}`);
    }
    for (const event of events) {
      if (this.stopped || this.finished) return;
      const parsed = this.layout.parse(event.kv.key);
      if (!parsed) continue;
      if (parsed.kind === 'invalid-node') {
        this.logger.warn(`skipped etcd key "${parsed.key}": the part after nodes/ is not a valid node id`, {
          key: parsed.key,
        });
        continue;
      }
      if (parsed.kind !== 'node') continue;
      const revision = Number(event.kv.mod_revision);
      if (event.type === 'Put') {
        this.onChange({ type: 'put', key: parsed.id, value: new Uint8Array(event.kv.value), revision });
        continue;
      }
      const tag = `${parsed.id}@${event.kv.mod_revision}`;
      const reason = explicit.has(tag) ? 'unregistered' : leaseEnded.has(tag) ? 'expired' : undefined;
      this.onChange(
        reason
          ? { type: 'delete', key: parsed.id, revision, reason }
          : { type: 'delete', key: parsed.id, revision },
      );
    }
  }

  private resync(reason: string): void {
    if (this.stopped || this.finished) return;
    this.finished = true;
    this.close();
    this.logger.debug(`etcd feed lost continuity: ${reason}`);
    this.onChange({ type: 'resync', reason });
  }

  private close(): void {
    this.liveness?.stop();
    const stream = this.stream;
    this.stream = undefined;
    if (stream) endQuietly(stream);
  }
}
