// The change feed of a records bucket: an ordered consumer from a cursor, ended by resync when continuity is lost.
import type { ConsumerMessages, JsMsg, PushConsumer } from '@nats-io/jetstream';
import type { Logger } from '@roster/core';
import type { BackendChange, BackendWatch } from '@roster/core/spi';
import type { BucketLayout } from './bucket-layout.js';
import { translateMessage } from './feed-message.js';
import { untilAvailable } from './nats-connection.js';
import { type ConsumerFactory, createOrderedConsumer } from './ordered-consumer.js';

/**
 * The change feed of a records bucket from a cursor: an ordered push consumer starting at stream
 * sequence cursor + 1. The client library recreates an ordered consumer from the last sequence it
 * delivered when it sees a gap, so continuity holds across such hiccups; what it cannot bridge —
 * a reconnect, the stream deleted or recreated — the backend reports through `resync()`.
 */
export class KvChangeFeed implements BackendWatch {
  private consumer: PushConsumer | undefined;
  private messages: ConsumerMessages | undefined;
  private stopped = false;
  /**
   * Highest stream sequence delivered (the cursor at first): anything at or below it is dropped,
   * so revisions only go up. Not only duplicates after a consumer reset: on a replicated stream
   * nats-server (2.9) starts a consumer placed on a member whose store ends before the cursor at
   * that member's last sequence + 1 (sequence 1 when its store is empty), i.e. with messages the
   * list already covered.
   */
  private position: number;

  constructor(
    consumers: ConsumerFactory,
    private readonly layout: BucketLayout,
    cursor: number,
    private readonly onChange: (change: BackendChange) => void,
    private readonly logger: Logger,
    private readonly onEnd: (feed: KvChangeFeed) => void,
    onConsumerTrouble: (what: string) => void,
  ) {
    this.position = cursor;
    void this.start(consumers, cursor, onConsumerTrouble);
  }

  /** Highest sequence this feed has delivered (or its cursor). */
  get delivered(): number {
    return this.position;
  }

  /**
   * The stream's last sequence at the previous check, when this feed had not delivered it yet.
   * If the next check finds the feed still short of it, the feed is stuck (see `StreamWatchdog.check`).
   */
  awaiting: number | undefined;

  /** Continuity is lost: tell core (which re-lists and opens a new feed) and deliver nothing more. */
  resync(reason: string): void {
    if (this.stopped) return;
    this.deliver({ type: 'resync', reason });
    void this.stop();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.onEnd(this);
    const messages = this.messages;
    const consumer = this.consumer;
    this.messages = undefined;
    this.consumer = undefined;
    await messages?.close().catch(() => {});
    // Ephemeral, but deleting it now spares the server its inactivity timeout. Not awaited: a
    // frozen server must not hold up stop() (and with it close()) for a courtesy.
    void consumer?.delete().catch(() => {});
  }

  private async start(
    consumers: ConsumerFactory,
    cursor: number,
    onConsumerTrouble: (what: string) => void,
  ): Promise<void> {
    try {
      // While the meta group elects (503, no consumer can be created) the cursor stays valid:
      // wait for the election here rather than make core list again and again meanwhile.
      const consumer = await untilAvailable(
        () =>
          createOrderedConsumer(
            consumers,
            this.layout.stream,
            { filter_subjects: `${this.layout.subjectPrefix}>`, opt_start_seq: cursor + 1 },
            () => !this.stopped,
          ),
        () => !this.stopped,
        this.logger,
        `NATS (the change feed of "${this.layout.records}")`,
      );
      if (this.stopped) {
        await consumer.delete().catch(() => {});
        return;
      }
      this.consumer = consumer;
      const messages = await consumer.consume({ callback: (m) => this.onMessage(m) });
      if (this.stopped) {
        await messages.close().catch(() => {});
        await consumer.delete().catch(() => {});
        return;
      }
      this.messages = messages;
      void (async () => {
        for await (const status of messages.status()) {
          if (
            status.type === 'stream_not_found' ||
            status.type === 'ordered_consumer_recreated' ||
            status.type === 'heartbeats_missed' ||
            status.type === 'consumer_deleted'
          )
            onConsumerTrouble(status.type);
        }
      })().catch(() => {});
      void messages.closed().then((error) => {
        if (!this.stopped)
          this.resync(
            `the NATS change feed of "${this.layout.records}" ended${error ? `: ${error.message}` : ''}`,
          );
      });
    } catch (error) {
      this.resync(
        `could not open the NATS change feed of "${this.layout.records}": ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  private onMessage(m: JsMsg): void {
    if (this.stopped || m.seq <= this.position) return;
    this.position = m.seq;
    const change = translateMessage(m, this.layout.subjectPrefix);
    if (change.type === 'skip') {
      // Rule 10 of docs/guarantees.md: foreign data is skipped and logged at warn, never fatal.
      this.logger.warn(`skipped a message in NATS KV bucket "${this.layout.records}": ${change.reason}`, {
        seq: m.seq,
        subject: m.subject,
      });
      return;
    }
    this.deliver(change);
  }

  private deliver(change: BackendChange): void {
    // A throw here would stop the consumer inside the NATS client: keep it in core's log instead.
    try {
      this.onChange(change);
    } catch (error) {
      this.logger.error('the change handler threw', { error });
    }
  }
}
