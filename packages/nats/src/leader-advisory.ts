// Hears a replicated stream elect a leader (a JetStream advisory), so feeds need not wait for the stall check.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '@roster/core';

/** The subject nats-server (2.2 and later) publishes a stream's leader election on, in the stream's account. */
export function leaderElectedSubject(stream: string): string {
  return `$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${stream}`;
}

/**
 * Listens for `stream`'s leader elections and calls `onElected` with the new leader's server name.
 *
 * Why: when a stream leader dies, every ordered consumer that lived on it dies without a word
 * (nats.js notices after two missed idle heartbeats, 60 s), and the stream check needs two rounds
 * to call a feed stalled. The new leader announces itself on this subject the moment it is
 * elected, so the feeds can re-list at once. An advisory is not delivered again when missed
 * (a reconnect at that moment), so the periodic check stays as the fallback — and is the only
 * mechanism for a user not allowed to subscribe to the subject: that refusal is logged once at
 * warn and changes nothing else.
 */
export class LeaderAdvisory {
  private readonly subscription: Subscription;

  constructor(nc: NatsConnection, stream: string, logger: Logger, onElected: (leader: string) => void) {
    const subject = leaderElectedSubject(stream);
    this.subscription = nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) {
          logger.warn(
            `cannot subscribe to ${subject} (${error.message}): a new leader of the stream is noticed by the periodic stream check only (streamCheckInterval); the README lists the permission`,
          );
          return;
        }
        let leader = '';
        try {
          leader = String((msg.json() as { leader?: unknown }).leader ?? '');
        } catch {
          // A foreign or malformed message on the subject still says "something changed": check.
        }
        onElected(leader);
      },
    });
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}
