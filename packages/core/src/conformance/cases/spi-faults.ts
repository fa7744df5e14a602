// A frozen server seen from a raw backend: every call that waits on it settles within the request
// timeout and rejects with a Roster error core can act on (rule 14 of docs/guarantees.md).
import { it } from 'vitest';
import { BackendUnavailableError, DiscoveryError } from '../../errors.js';
import { type SuiteContext, settlesWithin, sleepUntil, waitFor } from '../harness.js';
import { mustPut, QUIET_TTL, recordBytes } from './spi-support.js';

/** The titles of the raw fault cases (the gallery names the case meant to catch each mutant). */
export const SPI_FAULT_TITLES = {
  frozen: 'backend: calls to a frozen server reject BackendUnavailableError within the request timeout',
};

/** Rule 14: "within the request timeout" — plus this for the event loop and the test's own bookkeeping. */
const SETTLE_SLACK = 1_000;
/** The pause is asked for, then takes effect (SIGSTOP) a moment later: calls start after this. */
const PAUSE_TAKES_EFFECT = 200;

/** Raw backend calls against a frozen server. Registered inside the sequential `faults` block. */
export function spiFaultCases(suite: SuiteContext): void {
  it(SPI_FAULT_TITLES.frozen, async (context) => {
    const faults = suite.options.faults;
    if (!faults) return context.skip();
    const { expect } = context;
    const scope = suite.scope(context.onTestFinished);
    const backend = await scope.raw({ ttl: QUIET_TTL });
    const revision = await mustPut(backend, 'frozen-1');
    const limit = suite.requestTimeout + SETTLE_SLACK;
    // Frozen for longer than the limit: a call that waits for the server instead of timing out fails.
    const paused = faults.pause(limit + 1_500 + PAUSE_TAKES_EFFECT);
    scope.defer(() => paused);
    await sleepUntil(Date.now() + PAUSE_TAKES_EFFECT);
    const calls: [string, Promise<unknown>][] = [
      ['put()', backend.put('frozen-2', recordBytes('frozen-2'))],
      [
        'a conditional put()',
        backend.put('frozen-1', recordBytes('frozen-1', 1), { expectedRevision: revision }),
      ],
      ['delete()', backend.delete('frozen-1')],
      ['get()', backend.get('frozen-1')],
      ['list()', backend.list()],
      ...(suite.supports().history && backend.history
        ? ([['history()', backend.history('frozen-1', 2)]] as [string, Promise<unknown>][])
        : []),
    ];
    const outcomes = await Promise.all(
      calls.map(async ([what, call]) => {
        try {
          await settlesWithin(call, limit, `${what} started while the server was frozen`);
        } catch (error) {
          return `${(error as Error).message} (the request timeout is ${suite.requestTimeout} ms)`;
        }
        const error = await call.then(
          () => undefined,
          (reason: unknown) => reason ?? new Error('rejected without a reason'),
        );
        if (!error) return `${what} resolved although the server was frozen the whole time`;
        if (!BackendUnavailableError.isInstance(error))
          return `${what} rejected ${String(error)}${DiscoveryError.isInstance(error) ? ` (${error.code})` : ''}, not BackendUnavailableError (ERR_BACKEND_UNAVAILABLE): every error a user sees is a DiscoveryError with a stable code (docs/guarantees.md, Errors)`;
        return undefined;
      }),
    );
    expect(outcomes.filter(Boolean), 'rule 14: every call to a frozen server').toEqual([]);
    await paused;
    // Once the server is back the backend works again, without being reopened.
    await waitFor(
      'a put through the same backend to succeed after the server resumed',
      async () => (await backend.put('frozen-3', recordBytes('frozen-3')).catch(() => undefined))?.ok,
      30_000,
    );
  }, 90_000);
}
