// The read-only open that waits for an absent namespace (watch, ui): one notice, one behaviour.
import type { NodeDiscovery } from '@roster/core';
import { describeTarget } from './backend-url.js';
import type { CommandContext } from './command.js';

/**
 * Opens the namespace read-only (never creating it, with its own ttl); an absent one is waited
 * for, looked up once a second, after one dim notice. Undefined when Ctrl-C ended the wait.
 */
export function connectWhenPresent(context: CommandContext): Promise<NodeDiscovery | undefined> {
  const { err } = context;
  return context.connectReadOnly({
    waitForNamespace: {
      onWaiting: () =>
        err.line(
          err.paint(
            'dim',
            `namespace ${context.namespace()} does not exist yet at ${describeTarget(context.target())}; waiting for it to appear — Ctrl-C to stop`,
          ),
        ),
    },
  });
}
