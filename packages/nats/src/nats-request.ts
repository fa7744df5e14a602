// One SPI call that waits on the server: Roster's deadline, the retry of reads during an election, and the failure as a Roster error.
import type { Logger } from '@roster/core';
import { requestTimedOut, withDeadline } from '@roster/core/spi';
import type { NatsSettings } from './nats-backend-options.js';
import { untilAvailable } from './nats-connection.js';
import { isWriteConflict } from './nats-errors.js';

/** What a request needs to know of the backend it runs on. */
export interface RequestContext {
  readonly settings: NatsSettings;
  readonly logger: Logger;
  /** Whether the backend was closed (a retry then stops). */
  readonly closed: () => boolean;
  /** The error a failure of `what` is reported as (see `NatsSession.failure`). */
  readonly failure: (error: unknown, what: string) => Error;
}

/**
 * Runs `work` within the request timeout (rule 14 of docs/guarantees.md), failing as a Roster
 * error. A read (`retry: 'reads'`) that meets a cluster electing its meta or stream leader
 * ("temporarily unavailable", 4-8 s on nats-server 2.9 after a member resumes) is tried again
 * within the same deadline; a write is not, as a refused write is the caller's to retry. The
 * client's own timeouts run a little past this deadline (see `clientTimeout`), so a call that
 * times out always fails with this deadline's message.
 */
export async function request<T>(
  context: RequestContext,
  what: string,
  work: () => Promise<T>,
  retry?: 'reads',
): Promise<T> {
  const { requestTimeout, server } = context.settings;
  let settled = false;
  const attempt = retry
    ? untilAvailable(work, () => !settled && !context.closed(), context.logger, server)
    : work();
  try {
    return await withDeadline(attempt, requestTimeout, () =>
      requestTimedOut({ server: `NATS at ${server}`, what, timeout: requestTimeout }),
    );
  } catch (error) {
    throw context.failure(error, what);
  } finally {
    settled = true;
  }
}

/** A compare-and-set the server refused because the key moved is the expected `conflict` result, not an error. */
export async function conflictAs<T>(conflict: T, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isWriteConflict(error)) return conflict;
    throw error;
  }
}
