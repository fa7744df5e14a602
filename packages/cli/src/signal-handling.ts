// Ctrl-C and SIGTERM: the first asks long-running commands to end and clean up, a second one
// exits at once. An embedding application passes its own signal instead.

import { EXIT_INTERRUPTED } from './cli-error.js';
import type { Terminal } from './terminal.js';

/** Aborts `controller` on SIGINT/SIGTERM; returns the function that removes the handlers. */
export function installSignalHandlers(controller: AbortController, err: Terminal): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      controller.abort();
      return;
    }
    err.line(`roster: ${signal} again, exiting without cleaning up`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Aborts `controller` when the embedder's `external` signal aborts; returns the unlinking function. */
export function linkSignal(external: AbortSignal, controller: AbortController): () => void {
  const forward = () => controller.abort();
  if (external.aborted) forward();
  else external.addEventListener('abort', forward, { once: true });
  return () => external.removeEventListener('abort', forward);
}
