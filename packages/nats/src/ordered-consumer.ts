// Creates the ordered (ephemeral) consumers of lists and feeds, retrying one whose member is down.
import {
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  type OrderedPushConsumerOptions,
  type PushConsumer,
} from '@nats-io/jetstream';
import { errors, type NatsConnection, nuid } from '@nats-io/transport-node';
import { clientTimeout } from './nats-connection.js';

/** Attempts at creating one consumer of a replicated stream (each may land on a member that is down). */
const REPLICATED_ATTEMPTS = 3;

/**
 * What ordered consumers are created with: `js` times an attempt out, `jsm` deletes a consumer
 * whose creation timed out, `attempts` is how many tries one creation gets.
 */
export interface ConsumerFactory {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly attempts: number;
}

/**
 * The factory for a bucket: on a single replica one attempt of a whole request timeout (a
 * consumer there lives on the only member, so a retry could not help; see `clientTimeout`); on a replicated stream
 * three of a quarter of it each (see `createOrderedConsumer`).
 */
export function consumerFactory(
  nc: NatsConnection,
  jsm: JetStreamManager,
  requestTimeout: number,
  replicas: number,
): ConsumerFactory {
  const attempts = replicas > 1 ? REPLICATED_ATTEMPTS : 1;
  const timeout = replicas > 1 ? Math.max(1, Math.floor(requestTimeout / 4)) : clientTimeout(requestTimeout);
  return { js: jetstream(nc, { timeout }), jsm, attempts };
}

/**
 * An ordered push consumer of `stream`. On nats-server 2.9 an ephemeral consumer of a replicated
 * stream is placed on a member of the stream's group drawn at random — also on one that is down
 * (a killed stream leader stays in the group until it is back) — and then nobody answers the
 * create request. Each attempt therefore has a quarter of the request timeout, and one that timed
 * out is retried under a new name (the next draw may land on a live member): one unlucky draw no
 * longer costs a whole request timeout, then a failed list and a re-list later. The timed-out
 * consumer is deleted without waiting (its member may still create it when it comes back).
 * Any other error, and the last timeout, is thrown.
 */
export async function createOrderedConsumer(
  factory: ConsumerFactory,
  stream: string,
  options: Omit<Partial<OrderedPushConsumerOptions>, 'name_prefix'>,
  isWanted: () => boolean = () => true,
): Promise<PushConsumer> {
  for (let attempt = 1; ; attempt++) {
    const prefix = `oc_${nuid.next()}`;
    try {
      return await factory.js.consumers.getPushConsumer(stream, { ...options, name_prefix: prefix });
    } catch (error) {
      if (!isTimeout(error) || attempt >= factory.attempts || !isWanted()) throw error;
      // nats.js names an ordered consumer `<prefix>_<serial>`, its first one `_1`.
      void factory.jsm.consumers.delete(stream, `${prefix}_1`).catch(() => {});
    }
  }
}

function isTimeout(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++)
    if (e instanceof errors.TimeoutError) return true;
  return false;
}
