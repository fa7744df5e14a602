import type { DiscoveryBackend, NamespaceInspection, NodeDiscovery } from '@roster/core';
import { CliError, EXIT_INTERRUPTED } from './cli-error.js';
import type { Progress } from './progress.js';
import type { Terminal } from './terminal.js';

/** How often `watch` looks again for a namespace that does not exist yet. */
export const NAMESPACE_POLL_INTERVAL = 1_000;

/** Options of a read-only connection (`CommandContext.connectReadOnly`). */
export interface ReadOnlyOptions {
  /**
   * Wait for an absent namespace to appear instead of resolving `undefined` (`watch`): looks again
   * every second, without creating it, until it exists or the command is interrupted.
   */
  waitForNamespace?: {
    /** Called once, when the first look found no namespace. */
    onWaiting(): void;
  };
}

/** What the CLI's context lends a read-only connection. */
export interface ReadOnlyParts {
  /** A new, unopened backend for the target and namespace in use. */
  createBackend(): Promise<DiscoveryBackend>;
  /** Opens a discovery instance on `backend` (the context's `connect()`), with `ttl` when given. */
  open(backend: DiscoveryBackend, ttl: number | undefined): Promise<NodeDiscovery>;
  /** The ttl the user asked for (`--ttl` or `ROSTER_TTL`) and where it came from, if any. */
  askedTtl(): { ttl: number; source: string } | undefined;
  readonly namespace: string;
  /** `nats://127.0.0.1:4222`, for the progress line. */
  readonly where: string;
  readonly err: Terminal;
  readonly progress: Progress;
  readonly interrupt: AbortSignal;
  /** Shown with --verbose only. */
  debug(message: string): void;
}

/**
 * Opens a namespace for `ls`, `get`, `watch` and `history` without ever creating it: the backend's
 * `inspect()` says whether the namespace exists and with which ttl, and only an existing namespace
 * is opened — with its own ttl, so that looking never fixes a ttl the applications do not use
 * (issue 13). `--ttl` is then only compared: the stored ttl wins, with a one-line notice.
 * Resolves `undefined` for an absent namespace (nothing was connected but the look itself), or
 * when the command was interrupted while waiting for one.
 *
 * A backend without `inspect()` (a custom one written before it existed) is opened as before,
 * with the asked ttl, after a warning that this may create the namespace.
 */
export async function openReadOnly(
  parts: ReadOnlyParts,
  options: ReadOnlyOptions = {},
): Promise<NodeDiscovery | undefined> {
  const backend = await parts.createBackend();
  const asked = parts.askedTtl();
  if (typeof backend.inspect !== 'function') {
    parts.err.line(
      parts.err.paint(
        'yellow',
        `roster: warn: the ${backend.name} backend has no inspect(): opening namespace ${parts.namespace} to read it, which creates it if it does not exist`,
      ),
    );
    return parts.open(backend, asked?.ttl);
  }
  let found = await look(backend, parts);
  if (!found.exists && options.waitForNamespace) {
    options.waitForNamespace.onWaiting();
    while (!found.exists) {
      if (!(await pause(NAMESPACE_POLL_INTERVAL, parts.interrupt))) break;
      parts.debug(`namespace ${parts.namespace} does not exist yet; looking again`);
      found = await look(backend, parts);
    }
  }
  if (!found.exists) {
    await backend.close().catch(() => {});
    return undefined;
  }
  if (asked !== undefined && asked.ttl !== found.ttl)
    parts.err.line(
      parts.err.paint(
        'dim',
        `roster: note: namespace ${parts.namespace} has ttl ${found.ttl} ms; using it instead of ${asked.source} ${asked.ttl}`,
      ),
    );
  return parts.open(backend, found.ttl);
}

/** One `inspect()`, under the progress line; Ctrl-C meanwhile ends the command as while connecting. */
async function look(backend: DiscoveryBackend, parts: ReadOnlyParts): Promise<NamespaceInspection> {
  parts.progress.start(`looking for namespace ${parts.namespace} at ${parts.where} …`, 300);
  const inspecting = backend.inspect!();
  let onAbort: (() => void) | undefined;
  try {
    const interrupted = new Promise<'interrupted'>((resolve) => {
      onAbort = () => resolve('interrupted');
      if (parts.interrupt.aborted) onAbort();
      else parts.interrupt.addEventListener('abort', onAbort, { once: true });
    });
    const result = await Promise.race([inspecting, interrupted]);
    if (result === 'interrupted') {
      // The look releases what it opened when it ends (the SPI says so); nothing else to close.
      inspecting.catch(() => {});
      throw new CliError('interrupted while connecting', { exitCode: EXIT_INTERRUPTED });
    }
    return result;
  } catch (error) {
    await backend.close().catch(() => {});
    throw error;
  } finally {
    if (onAbort) parts.interrupt.removeEventListener('abort', onAbort);
    parts.progress.stop();
  }
}

/** Waits `ms`; false when interrupted first. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** What `get` and `history` add to their hint when the namespace itself does not exist. */
export function absentNamespace(namespace: string): string {
  return `; namespace ${namespace} does not exist: check --url and --namespace`;
}
