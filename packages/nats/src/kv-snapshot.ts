// list() on NATS: every live key of the records bucket at one stream sequence, with its age by the server's clock.
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { BackendUnavailableError, type Logger } from '@roster/core';
import type { BackendEntry, BackendSnapshot } from '@roster/core/spi';
import type { BucketLayout } from './bucket-layout.js';
import { translateMessage } from './feed-message.js';

/**
 * A listed entry and how long ago it was written, by the server's clock (see `readSnapshot`).
 * `age` is not yet part of the SPI's `BackendEntry`; core ignores it until it reads it.
 */
export interface AgedEntry extends BackendEntry {
  /** Ms between the write and the return of `list()`, measured by the server, never by the writer. */
  readonly age: number;
}

/**
 * A consistent list of the records bucket and the stream sequence it is consistent at.
 *
 * An ordered consumer delivering the last message of every key, then anything written since,
 * is read until the server says nothing is pending. Applied in order, those messages give the
 * state of the bucket at the last sequence seen: that sequence is the cursor, and a watch from
 * cursor + 1 misses nothing. An empty bucket has no message to read a sequence from, so the
 * stream's last sequence is read first, before the consumer exists (a write in between is then
 * pending on the consumer and read too).
 */
/*
 * Ages (rule 16 of docs/guarantees.md): each message carries the server's timestamp of its write,
 * and the consumer's `created` is the server's time when the list began, so their difference is
 * an age measured by one clock (the server's); the local time since the consumer answered is
 * added. The writer's `lastSeen` is never used: an owner whose clock runs ahead would otherwise
 * postpone its own expiry at every instance that lists it.
 */
export async function readSnapshot(
  js: JetStreamClient,
  jsm: JetStreamManager,
  layout: BucketLayout,
  logger: Logger,
  idleTimeout: number,
): Promise<BackendSnapshot> {
  const before = await jsm.streams.info(layout.stream);
  const consumer = await js.consumers.getPushConsumer(layout.stream, {
    filter_subjects: `${layout.subjectPrefix}>`,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  const createdLocally = Date.now();
  try {
    const info = await consumer.info(true);
    const serverStart = Date.parse(info.created);
    let cursor = before.state.last_seq;
    const latest = new Map<string, (BackendEntry & { writtenAgo: number }) | undefined>();
    if (info.num_pending > 0) {
      cursor = await new Promise<number>((resolve, reject) => {
        let last = 0;
        let timer: NodeJS.Timeout | undefined;
        const idle = () => {
          clearTimeout(timer);
          timer = setTimeout(() => {
            done = true;
            void messages?.close();
            reject(
              new BackendUnavailableError(
                `listing NATS KV bucket "${layout.records}" stalled: no message for ${idleTimeout} ms`,
              ),
            );
          }, idleTimeout);
        };
        let messages: Awaited<ReturnType<typeof consumer.consume>> | undefined;
        let done = false;
        const onMessage = (m: JsMsg) => {
          // nats.js hands every message of one socket read to this callback in one go, so some
          // may follow the one that ended the list: they are past the cursor (the watch delivers
          // them), and keeping them here would make the watch replay them.
          if (done) return;
          idle();
          if (m.seq > last) {
            last = m.seq;
            const change = translateMessage(m, layout.subjectPrefix);
            if (change.type === 'put')
              latest.set(change.key, {
                key: change.key,
                value: change.value,
                revision: change.revision,
                writtenAgo: serverStart - Number(m.info.timestampNanos) / 1e6,
              });
            else if (change.type === 'delete') latest.set(change.key, undefined);
            else
              logger.warn(`skipped a message in NATS KV bucket "${layout.records}": ${change.reason}`, {
                seq: m.seq,
                subject: m.subject,
              });
          }
          if (m.info.pending === 0 && !done) {
            done = true;
            clearTimeout(timer);
            void messages?.close();
            resolve(last);
          }
        };
        idle();
        consumer
          .consume({ callback: onMessage })
          .then((iterator) => {
            messages = iterator;
            if (done) void iterator.close();
          })
          .catch((error: unknown) => {
            done = true;
            clearTimeout(timer);
            reject(error);
          });
      });
    }
    const entries: AgedEntry[] = [];
    const elapsed = Date.now() - createdLocally;
    for (const entry of latest.values()) {
      if (!entry) continue;
      const { writtenAgo, ...rest } = entry;
      // Written after the list began (writtenAgo < 0): as young as the list's own duration allows.
      const age = Number.isFinite(writtenAgo) ? Math.max(0, writtenAgo + elapsed) : 0;
      entries.push({ ...rest, age });
    }
    return { entries, cursor: String(cursor) };
  } finally {
    // An ordered consumer is ephemeral; deleting it now spares the server its inactivity timeout.
    consumer.delete().catch(() => {});
  }
}
