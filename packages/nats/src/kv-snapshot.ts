import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { type BackendEntry, type BackendSnapshot, BackendUnavailableError, type Logger } from '@roster/core';
import type { BucketLayout } from './bucket-layout.js';
import { translateMessage } from './feed-message.js';

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
  try {
    const info = await consumer.info(true);
    let cursor = before.state.last_seq;
    const latest = new Map<string, BackendEntry | undefined>();
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
          idle();
          if (m.seq > last) {
            last = m.seq;
            const change = translateMessage(m, layout.subjectPrefix);
            if (change.type === 'put')
              latest.set(change.key, { key: change.key, value: change.value, revision: change.revision });
            else if (change.type === 'delete') latest.set(change.key, undefined);
            else
              logger.debug(`skipped a message in NATS KV bucket "${layout.records}": ${change.reason}`, {
                seq: m.seq,
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
    const entries: BackendEntry[] = [];
    for (const entry of latest.values()) if (entry) entries.push(entry);
    return { entries, cursor: String(cursor) };
  } finally {
    // An ordered consumer is ephemeral; deleting it now spares the server its inactivity timeout.
    consumer.delete().catch(() => {});
  }
}
