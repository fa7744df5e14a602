// The context a command runs in: its parsed flags, the terminals, and how it connects (a
// discovery instance, a raw backend, a read-only view); plus closing what it opened at exit.

import { createDiscovery, DEFAULT_TTL, type NodeFilter } from '@roster/core';
import type { ParsedArgs } from './argv.js';
import { createBackend } from './backend-factory.js';
import { type BackendTarget, describeTarget, parseBackendUrl } from './backend-url.js';
import { UsageError } from './cli-error.js';
import { CliLogger } from './cli-logger.js';
import type { CommandContext, ConnectOptions } from './command.js';
import { connectionFailure, deadline } from './connect-deadline.js';
import { connectionFlags } from './connection-flags.js';
import type { ModuleLoader } from './module-loader.js';
import type { Progress } from './progress.js';
import { openReadOnly } from './read-only-connect.js';
import type { Terminal } from './terminal.js';

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const CLOSE_TIMEOUT = 5_000;

/** What a command opened and the CLI closes at exit: discovery instances and raw backends. */
export interface Closeable {
  close(): Promise<unknown>;
}

export interface ContextParts {
  out: Terminal;
  err: Terminal;
  env: Record<string, string | undefined>;
  verbose: boolean;
  /** The command stores nodes: durability warnings concern it (see Command.writes). */
  writes: boolean;
  progress: Progress;
  opened: Set<Closeable>;
  interrupt: AbortSignal;
  loadModule: ModuleLoader;
}

export function createContext(args: ParsedArgs, parts: ContextParts): CommandContext {
  const { out, err, env, progress, opened, interrupt } = parts;
  let target: BackendTarget | undefined;
  const logger = new CliLogger(err, parts.verbose, progress, parts.writes);
  const connectTimeout = () =>
    args.number('connect-timeout', { min: 100, integer: true }) ?? DEFAULT_CONNECT_TIMEOUT;
  const backendFor = (where: BackendTarget, namespace: string, timeout: number) =>
    createBackend(where, namespace, connectionFlags(args, env), parts.loadModule, timeout);
  /** The ttl stored in the namespace, once a read-only command has opened it. */
  let storedTtl: number | undefined;
  const context: CommandContext = {
    args,
    out,
    err,
    env,
    json: args.flag('json'),
    interrupt,
    progress,
    now: () => Date.now(),
    target() {
      target ??= parseBackendUrl(args.string('url') ?? (env.ROSTER_URL || 'memory:'));
      return target;
    },
    namespace(options: ConnectOptions = {}) {
      return options.namespace ?? args.string('namespace') ?? context.target().namespace ?? 'default';
    },
    filter(): NodeFilter | undefined {
      const metadata = args.pairs('filter');
      return Object.keys(metadata).length > 0 ? { metadata } : undefined;
    },
    ttl(options: ConnectOptions = {}) {
      return options.ttl ?? storedTtl ?? ttlOption(args, env) ?? DEFAULT_TTL;
    },
    async openBackend(url: string, options: ConnectOptions = {}) {
      const where = parseBackendUrl(url);
      const namespace = options.namespace ?? args.string('namespace') ?? where.namespace ?? 'default';
      const ttl = context.ttl(options);
      const timeout = connectTimeout();
      const backend = await backendFor(where, namespace, timeout);
      progress.start(`connecting to ${describeTarget(where)} (namespace ${namespace}) …`, 300);
      try {
        await deadline(backend.open({ ttl, logger }), timeout, interrupt, () => {
          backend.close().catch(() => {});
        });
        opened.add(backend);
        return backend;
      } catch (error) {
        throw connectionFailure(error, where, timeout);
      } finally {
        progress.stop();
      }
    },
    async connect(options: ConnectOptions = {}) {
      const where = context.target();
      const namespace = context.namespace(options);
      const ttl = options.ttl ?? ttlOption(args, env);
      const timeout = connectTimeout();
      const backend = options.backend ?? (await backendFor(where, namespace, timeout));
      progress.start(`connecting to ${describeTarget(where)} (namespace ${namespace}) …`, 300);
      logger.hold();
      const opening = createDiscovery({
        backend,
        ...(ttl !== undefined ? { ttl } : {}),
        logger,
        ...(options.reregister !== undefined ? { reregister: options.reregister } : {}),
        ...(options.onOwnNodeLost ? { onOwnNodeLost: options.onOwnNodeLost } : {}),
      });
      try {
        const discovery = await deadline(opening, timeout, interrupt, () => {
          // Whatever happens later to the abandoned attempt, release what it holds.
          opening.then(
            (late) => late.close({ unregister: false }),
            () => {},
          );
          backend.close().catch(() => {});
        });
        opened.add(discovery);
        logger.release('flush');
        return discovery;
      } catch (error) {
        logger.release('mute');
        throw connectionFailure(error, where, timeout);
      } finally {
        progress.stop();
      }
    },
    connectReadOnly(options) {
      const ttl = ttlOption(args, env);
      return openReadOnly(
        {
          createBackend: () => backendFor(context.target(), context.namespace(), connectTimeout()),
          open: (backend, stored) => {
            // A read-only command runs with the namespace's own ttl: ttl() reports it from now on.
            storedTtl = stored;
            return context.connect({ backend, ...(stored !== undefined ? { ttl: stored } : {}) });
          },
          askedTtl: () =>
            ttl === undefined ? undefined : { ttl, source: args.string('ttl') ? '--ttl' : 'ROSTER_TTL' },
          namespace: context.namespace(),
          where: describeTarget(context.target()),
          err,
          progress,
          interrupt,
          debug: (message) => logger.debug(message),
        },
        options,
      );
    },
  };
  return context;
}

function ttlOption(args: ParsedArgs, env: Record<string, string | undefined>): number | undefined {
  const fromFlag = args.number('ttl', { min: 1_000, integer: true });
  if (fromFlag !== undefined) return fromFlag;
  if (!env.ROSTER_TTL) return undefined;
  const fromEnv = Number(env.ROSTER_TTL);
  if (!Number.isInteger(fromEnv) || fromEnv < 1_000)
    throw new UsageError(
      `ROSTER_TTL must be an integer number of ms >= 1000, got ${JSON.stringify(env.ROSTER_TTL)}`,
    );
  return fromEnv;
}

/** Closes what the command opened, giving up (with a warning) after CLOSE_TIMEOUT. */
export async function closeAll(opened: Set<Closeable>, err: Terminal): Promise<void> {
  if (opened.size === 0) return;
  const closing = Promise.allSettled([...opened].map((resource) => resource.close()));
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = await Promise.race([
    closing.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), CLOSE_TIMEOUT);
    }),
  ]);
  clearTimeout(timer);
  if (gaveUp)
    err.line(err.paint('yellow', 'roster: warn: the backend did not close in time; exiting anyway'));
  opened.clear();
}
