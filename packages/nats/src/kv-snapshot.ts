// list() on NATS: every live key of the records bucket at one stream sequence, with its age by the server's clock.
import { DeliverPolicy, type JetStreamManager, type JsMsg, type PushConsumer } from '@nats-io/jetstream';
import { BackendUnavailableError, type Logger } from '@roster/core';
import type { BackendEntry, BackendSnapshot } from '@roster/core/spi';
import type { BucketLayout } from './bucket-layout.js';
import { translateMessage } from './feed-message.js';
import { leaderStreamInfo, readLeaderSnapshot } from './kv-leader-snapshot.js';
import { isTemporarilyUnavailable } from './nats-errors.js';
import { type ConsumerFactory, createOrderedConsumer } from './ordered-consumer.js';

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
 * Replicated buckets (issue 12): "nothing pending" is what the consumer's own member holds, and
 * nats-server places an ephemeral consumer on any member of the stream's group, one that may
 * lag the leader (a follower applies a write only once it learns it was committed; a member
 * that was down catches up after its restart). A list read there would miss acknowledged writes
 * and take older revisions for the truth, which moves a view backwards (core follows a listed
 * record even at a lower revision, so that a store that lost its data is followed). So the list
 * ends only once it has read up to the stream's last sequence as the stream LEADER reported it
 * before the consumer existed: the consumer's member then had every write acknowledged before
 * the list began. A lagging member delivers the missing writes as it applies them; waiting for
 * them is bounded like any read (rule 14 of docs/guarantees.md). While the stream elects a
 * leader each member answers the stream info itself, with `cluster.leader` empty and its own,
 * possibly stale, state: such an answer is no floor (`LeaderlessStreamError`), and the list is
 * tried again within its request timeout. While the META group elects, no consumer can be
 * created at all: the list is then read message by message (see kv-leader-snapshot.ts).
 */
/*
 * Ages (rule 16 of docs/guarantees.md): each message carries the server's timestamp of its write,
 * and the consumer's `created` is the server's time when the list began, so their difference is
 * an age measured by one clock (the server's); the local time since the consumer answered is
 * added. The writer's `lastSeen` is never used: an owner whose clock runs ahead would otherwise
 * postpone its own expiry at every instance that lists it.
 */
export async function readSnapshot(
  consumers: ConsumerFactory,
  jsm: JetStreamManager,
  layout: BucketLayout,
  logger: Logger,
  idleTimeout: number,
): Promise<BackendSnapshot> {
  const before = await leaderStreamInfo(jsm, layout);
  /** The stream's last sequence by its leader: the list reads at least up to here. */
  const floor = before.state.last_seq;
  let consumer: PushConsumer;
  try {
    consumer = await createOrderedConsumer(consumers, layout.stream, {
      filter_subjects: `${layout.subjectPrefix}>`,
      deliver_policy: DeliverPolicy.LastPerSubject,
    });
  } catch (error) {
    // No consumer while the meta group elects (503): read through the stream's own leader instead.
    if (!isTemporarilyUnavailable(error)) throw error;
    logger.info(`JetStream cannot create consumers now; listing "${layout.records}" message by message`);
    return readLeaderSnapshot(jsm, layout, logger);
  }
  const createdLocally = Date.now();
  try {
    const info = await consumer.info(true);
    const serverStart = Date.parse(info.created);
    // Nothing to deliver and the consumer's member already at the floor: an empty bucket.
    let cursor = Math.max(floor, info.delivered.stream_seq);
    const latest = new Map<string, (BackendEntry & { writtenAgo: number }) | undefined>();
    if (info.num_pending > 0 || info.delivered.stream_seq < floor) {
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
                last < floor
                  ? `listing NATS KV bucket "${layout.records}" stalled at sequence ${last}, short of the leader's ${floor}: no message for ${idleTimeout} ms`
                  : `listing NATS KV bucket "${layout.records}" stalled: no message for ${idleTimeout} ms`,
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
          // Pending 0 below the floor: the consumer's member lags; it delivers the rest as it catches up.
          if (m.info.pending === 0 && last >= floor && !done) {
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
