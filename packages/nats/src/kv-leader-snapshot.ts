// list() without a new consumer: the records bucket read message by message, consistent at the stream leader's last sequence.
import type { JetStreamManager, StoredMsg, StreamInfo } from '@nats-io/jetstream';
import type { Logger } from '@roster/core';
import type { BackendEntry, BackendSnapshot } from '@roster/core/spi';
import type { BucketLayout } from './bucket-layout.js';
import { translateMessage } from './feed-message.js';
import { LeaderlessStreamError } from './nats-errors.js';

/** Direct gets in flight at once while reading a snapshot. */
const PARALLEL_GETS = 32;

/**
 * Why this exists: on nats-server 2.9 creating a consumer — also the ephemeral one `readSnapshot`
 * lists with — needs the meta leader, and a cluster re-elects it for 4-8 s whenever a member
 * resumes after a freeze, answering 503 meanwhile. The stream's own raft group keeps serving:
 * its leader answers stream info, any replica answers a direct get. So while the meta group
 * elects, a list is read from those:
 *
 * 1. stream info with `deleted_details`, answered by the stream LEADER (an answer without one is
 *    refused, as in `readSnapshot`): the stream at its last sequence L holds exactly the
 *    sequences first_seq..L minus `deleted` (a KV bucket drops a key's older messages out of
 *    order, which the server reports as interior deletes);
 * 2. each of those messages by sequence with a direct get, which any replica answers. A message
 *    is immutable, so whichever replica answers gives the leader's bytes — or none, when that
 *    replica lags (it has not applied the sequence yet), or the message is gone since (a newer
 *    write of its key, MaxAge). Then the state at L cannot be rebuilt: everything is read again
 *    from a new stream info (`attempts` times, within the caller's deadline).
 *
 * The last message of each key among them is the key's state at L, so the entries are the bucket
 * at L and a watch from cursor L + 1 misses nothing (the SPI's list contract, see kv-snapshot.ts).
 * Entries carry no `age`: 2.9 gives no server time of "now" here, and an age by our clock would
 * break rule 16 of docs/guarantees.md; without it core confirms each listed key by reading it.
 */
export async function readLeaderSnapshot(
  jsm: JetStreamManager,
  layout: BucketLayout,
  logger: Logger,
  attempts = 5,
): Promise<BackendSnapshot> {
  for (let attempt = 1; ; attempt++) {
    const info = await leaderStreamInfo(jsm, layout, { deleted_details: true });
    const { first_seq: first, last_seq: last, messages } = info.state;
    const deleted = new Set(info.state.deleted ?? []);
    const sequences: number[] = [];
    if (messages > 0) for (let seq = first; seq <= last; seq++) if (!deleted.has(seq)) sequences.push(seq);
    const read = await readAll(jsm, layout.stream, sequences);
    if (read.some((message) => message === null)) {
      if (attempt >= attempts)
        throw new Error(
          `listing NATS KV bucket "${layout.records}" message by message: the bucket kept changing under ${attempts} attempts`,
        );
      continue;
    }
    const latest = new Map<string, BackendEntry | undefined>();
    for (const message of read as StoredMsg[]) {
      const change = translateMessage(
        { subject: message.subject, seq: message.seq, data: message.data, headers: message.header },
        layout.subjectPrefix,
      );
      if (change.type === 'put')
        latest.set(change.key, { key: change.key, value: change.value, revision: change.revision });
      else if (change.type === 'delete') latest.set(change.key, undefined);
      else
        logger.warn(`skipped a message in NATS KV bucket "${layout.records}": ${change.reason}`, {
          seq: message.seq,
          subject: message.subject,
        });
    }
    const entries = [...latest.values()].filter((entry): entry is BackendEntry => entry !== undefined);
    return { entries, cursor: String(last) };
  }
}

/**
 * The records stream's info as its LEADER reports it. While a replicated stream elects a leader
 * each member answers for itself, with `cluster.leader` empty and its own, possibly stale, state:
 * such an answer is refused (`LeaderlessStreamError`, retried within the read's deadline).
 */
export async function leaderStreamInfo(
  jsm: JetStreamManager,
  layout: BucketLayout,
  options?: { deleted_details?: boolean },
): Promise<StreamInfo> {
  const info = await jsm.streams.info(layout.stream, options);
  if ((info.config.num_replicas ?? 1) > 1 && info.cluster && !info.cluster.leader)
    throw new LeaderlessStreamError(layout.records);
  return info;
}

/** The messages at `sequences`, in order; `null` where the answering replica had none. */
async function readAll(
  jsm: JetStreamManager,
  stream: string,
  sequences: number[],
): Promise<(StoredMsg | null)[]> {
  const read: (StoredMsg | null)[] = [];
  for (let i = 0; i < sequences.length; i += PARALLEL_GETS) {
    const batch = sequences.slice(i, i + PARALLEL_GETS);
    read.push(...(await Promise.all(batch.map((seq) => jsm.direct.getMessage(stream, { seq })))));
    // One gap already means another attempt: stop reading this one.
    if (read.includes(null)) break;
  }
  return read;
}
