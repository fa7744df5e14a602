// Watches the records stream beneath the change feeds and makes them re-list when it moved.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from '@roster/core';
import type { BucketLayout } from './bucket-layout.js';
import type { KvChangeFeed } from './kv-change-feed.js';
import { isStreamNotFound } from './nats-errors.js';

/**
 * The open change feeds and the stream they read. A stream deleted, recreated (a new creation
 * time) or moved backwards (sequences restarted) makes the feeds' cursors meaningless, and a
 * feed whose consumer died silently delivers nothing more: each ends with `resync`, so core re-lists.
 */
export class StreamWatchdog {
  readonly feeds = new Set<KvChangeFeed>();
  /** Creation time of the stream the feeds read. */
  created = '';
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private recreating: Promise<void> | undefined;

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly layout: BucketLayout,
    private readonly logger: Logger,
    private readonly isOpen: () => boolean,
    /** Answers `streamIsGone` within a quarter of the request timeout (see there). */
    private readonly quickJsm: JetStreamManager = jsm,
  ) {}

  /** Checks every `intervalMs` from now on (the timer does not keep the process alive). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.check('periodic check'), intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every feed loses continuity: each asks core to re-list. */
  resyncAll(reason: string): void {
    for (const feed of [...this.feeds]) feed.resync(reason);
  }

  /**
   * Whether the records stream is really gone. A publish that finds no responder also happens in
   * a cluster while the stream elects a new leader: only the JetStream API saying "stream not
   * found" makes the backend create the bucket again (and feeds re-list), never a transient failure.
   *
   * Asked within a quarter of the request timeout: while a replicated stream has no leader nobody
   * answers its stream info, and a write that found no responder (every write in that window,
   * only the leader listens on the stream's subjects) would otherwise wait out the whole request
   * timeout here — an owner's heartbeat sent just before the election then blocked the next one
   * for up to 5 s after it. A deleted stream is answered at once by the meta leader.
   */
  async streamIsGone(): Promise<boolean> {
    try {
      await this.quickJsm.streams.info(this.layout.stream);
      return false;
    } catch (error) {
      return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
    }
  }

  /**
   * The stream was deleted beneath us: sets the buckets up again with `reopen` — once, however
   * many operations noticed — then makes the feeds re-list.
   */
  recreate(reopen: () => Promise<void>): Promise<void> {
    this.recreating ??= (async () => {
      this.logger.warn(`NATS KV bucket "${this.layout.records}" is gone; creating it again`);
      await reopen();
      this.resyncAll(`NATS KV bucket "${this.layout.records}" was deleted and created again`);
    })().finally(() => {
      this.recreating = undefined;
    });
    return this.recreating;
  }

  /**
   * The stream elected a leader (its advisory, see `LeaderAdvisory`). A feed whose ordered
   * consumer lived on the member that lost the lead — killed, frozen or cut off — delivers
   * nothing more, and which feed that is cannot be told without asking each consumer (a request
   * to a dead member goes unanswered): every feed re-lists now, which costs one list per feed and
   * election, instead of waiting up to two stream checks (2 × streamCheckInterval). A feed whose
   * consumer was fine re-lists for nothing; the list reads up to the new leader's last sequence
   * (see `readSnapshot`), so no view moves backwards.
   */
  leaderElected(leader: string): void {
    if (!this.isOpen() || this.feeds.size === 0) return;
    this.resyncAll(
      `the stream of NATS KV bucket "${this.layout.records}" elected a new leader${leader ? ` (${leader})` : ''}`,
    );
  }

  /** Compares the stream with the one the feeds started on (see the class comment). */
  async check(trigger: string): Promise<void> {
    if (!this.isOpen() || this.feeds.size === 0 || this.checking) return;
    this.checking = true;
    try {
      // Read what the feeds delivered before asking: a feed that moves on while the answer is on
      // its way must not look like a stream that went backwards.
      const delivered = Math.max(0, ...[...this.feeds].map((feed) => feed.delivered));
      const info = await this.jsm.streams.info(this.layout.stream);
      if (!this.isOpen()) return;
      if (info.created !== this.created) {
        this.created = info.created;
        this.resyncAll(`the stream of NATS KV bucket "${this.layout.records}" was recreated`);
      } else if (info.state.last_seq < delivered) {
        this.resyncAll(
          `the stream of NATS KV bucket "${this.layout.records}" went back to sequence ${info.state.last_seq}`,
        );
      } else {
        this.findStalledFeeds(info.state.last_seq);
      }
    } catch (error) {
      if (isStreamNotFound(error)) this.resyncAll(`NATS KV bucket "${this.layout.records}" was deleted`);
      else
        this.logger.debug(`could not check the stream of "${this.layout.records}" (${trigger})`, { error });
    } finally {
      this.checking = false;
    }
  }

  /**
   * A feed whose consumer died without a word (its stream leader killed in a cluster: the ordered
   * consumer lived there) delivers nothing more, and nats.js notices only after two missed idle
   * heartbeats of 30 s. Every subject of the stream is in a feed's filter, so a feed that has not
   * reached, by this check, the last sequence the previous check saw is stuck: it re-lists.
   */
  private findStalledFeeds(lastSeq: number): void {
    for (const feed of [...this.feeds]) {
      const awaited = feed.awaiting;
      if (awaited !== undefined && feed.delivered < awaited) {
        feed.resync(
          `the NATS change feed of "${this.layout.records}" stalled at sequence ${feed.delivered} (the stream is at ${lastSeq})`,
        );
        continue;
      }
      feed.awaiting = lastSeq > feed.delivered ? lastSeq : undefined;
    }
  }
}
