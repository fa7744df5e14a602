// One message of a records bucket's stream as a change of the backend feed (or a skipped foreign key).
import { type BackendChange, idProblem } from '@roster/core/spi';

/**
 * The parts of a JetStream message (a `JsMsg` or a stored message) the feed reads. Kept minimal
 * so the translation can be tested on recorded entries without a server.
 */
export interface FeedMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly headers?: { get(name: string): string } | undefined;
}

/** A message the feed cannot turn into a change, with the reason for the debug log. */
export interface SkippedMessage {
  readonly type: 'skip';
  readonly reason: string;
}

/** Header the KV client sets on deletes and purges (`DEL`, `PURGE`); absent on a put. */
export const KV_OPERATION_HEADER = 'KV-Operation';
/** Header the server (>= 2.11) sets on a marker it writes when it removes a message by a limit. */
export const MARKER_REASON_HEADER = 'Nats-Marker-Reason';

/**
 * Turns one message of the bucket's stream into a feed change.
 * - a put → `put` (the stream sequence is the revision);
 * - `DEL` / `PURGE` written by a client → `delete`, reason `unregistered`;
 * - a limit marker with reason `MaxAge` (servers >= 2.11.2, bucket created with `markerTTL`) →
 *   `delete`, reason `expired`: the key aged out; other marker reasons (`Purge`, `Remove`) are
 *   removals by an operator → `unregistered`.
 * A subject that does not address a valid node id (another tool's keys, nested tokens Roster
 * never writes) is skipped.
 */
export function translateMessage(
  message: FeedMessage,
  subjectPrefix: string,
): BackendChange | SkippedMessage {
  if (!message.subject.startsWith(subjectPrefix))
    return { type: 'skip', reason: `subject ${message.subject} is outside ${subjectPrefix}>` };
  const key = message.subject.slice(subjectPrefix.length);
  const problem = idProblem(key);
  if (problem) return { type: 'skip', reason: `key is not a node id: ${problem}` };
  const marker = header(message, MARKER_REASON_HEADER);
  if (marker) {
    return {
      type: 'delete',
      key,
      revision: message.seq,
      reason: marker.toLowerCase() === 'maxage' ? 'expired' : 'unregistered',
    };
  }
  const operation = header(message, KV_OPERATION_HEADER);
  if (operation === 'DEL' || operation === 'PURGE')
    return { type: 'delete', key, revision: message.seq, reason: 'unregistered' };
  return { type: 'put', key, value: message.data, revision: message.seq };
}

function header(message: FeedMessage, name: string): string {
  try {
    return message.headers?.get(name) ?? '';
  } catch {
    return '';
  }
}
