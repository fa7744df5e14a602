import { UnsupportedCapabilityError } from '@roster/core';
import type { UiStatus } from './wire.js';

export interface ProbeOptions {
  /** Ms between probes (default 2 000). */
  readonly interval?: number;
  /** Ms a probe may take before the backend counts as unreachable (default 3 000). */
  readonly timeout?: number;
  readonly now: () => number;
}

/**
 * Tells whether the backend answers, for the dashboard's "reconnecting" banner. The discovery
 * instance rides out an outage on its own (rule 8 of docs/guarantees.md) and exposes no
 * connection state, so the dashboard asks the server a small question every couple of seconds
 * (`check`: a read through that same instance), never more than one at a time. A backend that
 * cannot answer such a question at all (`ERR_UNSUPPORTED`) is not probed: the page then never
 * shows an outage.
 */
export function startBackendProbe(
  check: () => Promise<unknown>,
  report: (status: UiStatus) => void,
  options: ProbeOptions,
): { stop(): void } {
  const interval = options.interval ?? 2_000;
  const timeout = options.timeout ?? 3_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const probe = async () => {
    let deadline: NodeJS.Timeout | undefined;
    const reading = check();
    try {
      await Promise.race([
        reading,
        new Promise((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`no answer within ${timeout} ms`)), timeout);
        }),
      ]);
      if (!stopped) report({ status: 'connected', since: options.now() });
    } catch (error) {
      if (UnsupportedCapabilityError.isInstance(error)) stopped = true;
      if (!stopped)
        report({
          status: 'reconnecting',
          since: options.now(),
          detail: error instanceof Error ? error.message : String(error),
        });
    } finally {
      clearTimeout(deadline);
      // The next probe starts after this read settles (within the backend's request timeout,
      // rule 14 of docs/guarantees.md): never two in flight.
      await reading.catch(() => {});
      if (!stopped) {
        timer = setTimeout(probe, interval);
        timer.unref();
      }
    }
  };
  timer = setTimeout(probe, interval);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
