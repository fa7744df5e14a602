// Which etcd members recently failed to answer at all, so that calls and streams go to the others.
import { GRPCDeadlineExceededError, GRPCUnavailableError, type IOptions } from 'etcd3';
import { HEDGE_MS } from './hedge.js';

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * How long a member that failed to answer is passed over while another member is not. A frozen
 * member (SIGSTOP, a stuck VM) still accepts TCP, so nothing but a timeout tells; long enough to
 * outlast a freeze of several ttls without paying a request timeout per call again, and harmless
 * when it was a one-off: the other members serve meanwhile, and none is passed over when all are
 * suspect.
 */
export const SUSPECT_MS = 30_000;

/** How long a member whose stream stalled is avoided: a few hedges' worth, see `streamStalled()`. */
const STALL_AVOID_MS = 5_000;

/**
 * A call that ran out of time, or found no connection: the member did not answer. etcd's own
 * refusals ("etcdserver: no leader", "leader changed") come from a member that is alive and are
 * not counted: every follower says so during an election.
 */
export function isSilence(error: unknown): boolean {
  if (error instanceof GRPCDeadlineExceededError) return true;
  return error instanceof GRPCUnavailableError && !error.message.includes('etcdserver:');
}

/** Rejected by a suspect member's policy before calling through: etcd3 then tries the next member. */
class SuspectMemberError extends Error {
  constructor(host: string) {
    super(`etcd member ${host} did not answer recently; trying another member`);
  }
}

/**
 * The members of one client and which of them recently failed to answer. etcd3 sends each call,
 * and opens each stream, on a member picked at random, and keeps using a member that is frozen
 * (rule 14 of docs/guarantees.md makes such calls fail at `requestTimeout`, but the next call may
 * pick the same member, and a keep-alive stream stays on it): a node whose owner's heartbeats all
 * land on a frozen member expires on the members still serving. Here each member's fault-handling
 * policy runs the call once (core retries; a circuit breaker would hide a restarted single server
 * for seconds), notes a call that got no answer, and refuses calls while its member is suspect and
 * another is not, which makes etcd3 move on to the next member. A keep-alive stream that did not
 * answer in time is reported with {@link streamFailed}.
 */
export class HostHealth {
  private readonly suspectUntil = new Map<string, number>();
  private readonly streamHosts = new WeakMap<object, string>();
  /** Per member: when each unary call still waiting was sent, and when the member last answered one. */
  private readonly pending = new Map<string, Set<{ readonly at: number }>>();
  private readonly answeredAt = new Map<string, number>();

  constructor(
    private readonly hosts: readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  /** More than one member: a request a member does not answer can be sent to another. */
  get several(): boolean {
    return this.hosts.length > 1;
  }

  /** The fault-handling policy of one member (etcd3's `faultHandling.host`). */
  policy(host: string): Policy {
    const execute = async (fn: (context: { signal: AbortSignal }) => unknown) => {
      if (this.avoid(host)) throw new SuspectMemberError(host);
      const call = { at: this.now() };
      let waiting = this.pending.get(host);
      if (!waiting) {
        waiting = new Set();
        this.pending.set(host, waiting);
      }
      waiting.add(call);
      try {
        const result = await fn({ signal: new AbortController().signal });
        // A stream (watch, keep-alive) is returned at once, before the member said anything:
        // remember its member for streamFailed(). Anything else is the member's answer.
        if (isStream(result)) this.streamHosts.set(result, host);
        else this.answeredAt.set(host, this.now());
        return result;
      } catch (error) {
        if (isSilence(error)) this.suspect(host);
        else this.answeredAt.set(host, this.now());
        throw error;
      } finally {
        waiting.delete(call);
      }
    };
    return { execute } as unknown as Policy;
  }

  /** A stream opened through {@link policy} that did not answer within the request timeout. */
  streamFailed(stream: object): void {
    const host = this.streamHosts.get(stream);
    if (host !== undefined) this.suspect(host);
  }

  /**
   * A stream opened through {@link policy} that has answered nothing for {@link HEDGE_MS}: its
   * member is avoided briefly (a member that is only slow is back in the pool soon; a frozen one
   * is avoided for longer once a request to it times out).
   */
  streamStalled(stream: object): void {
    const host = this.streamHosts.get(stream);
    if (host !== undefined) this.suspect(host, STALL_AVOID_MS);
  }

  /** True when the member of `stream` is one {@link avoid} passes over. */
  avoidsStream(stream: object): boolean {
    const host = this.streamHosts.get(stream);
    return host !== undefined && this.avoid(host);
  }

  suspect(host: string, ms = SUSPECT_MS): void {
    const until = this.now() + ms;
    if ((this.suspectUntil.get(host) ?? 0) < until) this.suspectUntil.set(host, until);
  }

  /** True when `host` is suspect or stalled and at least one other member is neither. */
  avoid(host: string): boolean {
    if (!this.isSuspect(host)) return false;
    return this.hosts.some((other) => other !== host && !this.isSuspect(other));
  }

  /**
   * Failed to answer within the last {@link SUSPECT_MS}, or stalled: a call has waited on it for
   * {@link HEDGE_MS} and it has answered nothing since that call was sent (a member that is only
   * slow keeps answering other calls). A hedged request sent then goes to another member.
   */
  private isSuspect(host: string): boolean {
    const now = this.now();
    const until = this.suspectUntil.get(host);
    if (until !== undefined && until > now) return true;
    const answered = this.answeredAt.get(host) ?? Number.NEGATIVE_INFINITY;
    for (const call of this.pending.get(host) ?? [])
      if (now - call.at >= HEDGE_MS && answered < call.at) return true;
    return false;
  }
}

function isStream(value: unknown): value is object {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { write?: unknown }).write === 'function' &&
    typeof (value as { on?: unknown }).on === 'function'
  );
}
