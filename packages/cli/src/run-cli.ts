import { createDiscovery, DEFAULT_TTL, type Logger, type NodeFilter } from '@roster/core';
import { type ParsedArgs, parseCommandArgs, splitCommand } from './argv.js';
import { createBackend } from './backend-factory.js';
import { type BackendTarget, describeTarget, parseBackendUrl } from './backend-url.js';
import { CliError, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError } from './cli-error.js';
import type { Command, CommandContext, ConnectOptions } from './command.js';
import { COMMANDS, findCommand } from './commands/index.js';
import { connectionFlags } from './connection-flags.js';
import { reportError } from './error-report.js';
import { GLOBAL_OPTIONS } from './global-options.js';
import { commandHelp, mainHelp } from './help.js';
import { importModule, type ModuleLoader } from './module-loader.js';
import { Progress } from './progress.js';
import { colourEnabled, type OutputStream, Terminal } from './terminal.js';
import { duration } from './time-format.js';

declare const __ROSTER_CLI_VERSION__: string | undefined;

/** The CLI's version (set at build time; `dev` when run from source). */
export const VERSION = typeof __ROSTER_CLI_VERSION__ === 'string' ? __ROSTER_CLI_VERSION__ : 'dev';

/** Options of {@link runCli}: everything it touches of the outside world, for embedding and tests. */
export interface RunCliOptions {
  /** Default `process.stdout`. */
  stdout?: OutputStream;
  /** Default `process.stderr`. */
  stderr?: OutputStream;
  /** Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** How backend packages are loaded. Default: dynamic `import()`. */
  loadModule?: ModuleLoader;
  /**
   * Ends long-running commands (`watch`, `register`, `demo`) as Ctrl-C does. When given, runCli
   * installs no SIGINT/SIGTERM handlers of its own.
   */
  interrupt?: AbortSignal;
}

const DEFAULT_CONNECT_TIMEOUT = 10_000;
const CLOSE_TIMEOUT = 5_000;

/**
 * Runs one `roster` command line and resolves with its exit code (0 ok, 1 runtime error,
 * 2 usage error). It never calls `process.exit`: the `roster` binary does.
 *
 * @example
 * ```ts
 * import { runCli } from '@roster/cli';
 * const code = await runCli(['ls', '--url', 'nats://127.0.0.1:4222', '--json']);
 * ```
 */
export async function runCli(argv: readonly string[], options: RunCliOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const stdout = options.stdout ?? process.stdout;
  const stderr = options.stderr ?? process.stderr;
  // Decided before parsing so that even a usage error obeys --no-color.
  const colourFlag = argv.includes('--no-color') ? false : argv.includes('--color') ? true : undefined;
  const out = new Terminal(stdout, colourEnabled(stdout, env, colourFlag));
  const err = new Terminal(stderr, colourEnabled(stderr, env, colourFlag));
  const verbose = argv.includes('--verbose') || argv.includes('-v');

  const interruption = new AbortController();
  const removeSignalHandlers = options.interrupt
    ? linkSignal(options.interrupt, interruption)
    : installSignalHandlers(interruption, err);
  const opened = new Set<Closeable>();
  const progress = new Progress(err);

  try {
    const { command: name, rest } = splitCommand(argv, GLOBAL_OPTIONS);
    if (name === undefined || name === 'help') {
      const topic = name === 'help' ? splitCommand(rest, GLOBAL_OPTIONS).command : undefined;
      if (topic !== undefined) {
        out.stream.write(commandHelp(out, requireCommand(topic)));
        return EXIT_OK;
      }
      if (rest.includes('--version') || rest.includes('-V')) {
        out.line(VERSION);
        return EXIT_OK;
      }
      const asked = name === 'help' || rest.includes('--help') || rest.includes('-h');
      if (!asked && rest.length > 0)
        throw new UsageError(
          `no command given in: roster ${rest.join(' ')}`,
          'roster --help lists the commands',
        );
      (asked ? out : err).stream.write(mainHelp(asked ? out : err, COMMANDS, VERSION));
      return asked ? EXIT_OK : EXIT_USAGE;
    }
    const command = requireCommand(name);
    const args = parseCommandArgs(rest, { ...GLOBAL_OPTIONS, ...command.options }, command.name);
    if (args.flag('help')) {
      out.stream.write(commandHelp(out, command));
      return EXIT_OK;
    }
    const extra = args.positionals[command.arguments ?? 0];
    if (extra !== undefined)
      throw new UsageError(
        `unexpected argument "${extra}": ${command.usage}`,
        `run \`roster ${command.name} --help\``,
      );
    const context = createContext(args, {
      out,
      err,
      env,
      verbose,
      writes: command.writes === true,
      progress,
      opened,
      interrupt: interruption.signal,
      loadModule: options.loadModule ?? importModule,
    });
    return (await command.run(context)) ?? EXIT_OK;
  } catch (error) {
    progress.stop();
    const report = reportError(error);
    const hint = report.hint ? ` ${err.paint('dim', `(hint: ${report.hint})`)}` : '';
    err.line(`${err.paint('red', 'roster:')} ${report.message}${hint}`);
    if (verbose && error instanceof Error) err.line(err.paint('dim', String(error.stack ?? error)));
    if (verbose && error instanceof Error && error.cause)
      err.line(err.paint('dim', `cause: ${String(error.cause)}`));
    return report.exitCode;
  } finally {
    progress.stop();
    await closeAll(opened, err);
    removeSignalHandlers();
  }
}

function requireCommand(name: string): Command {
  const command = findCommand(name);
  if (command) return command;
  const close = COMMANDS.find((c) => editDistance(c.name, name) <= 2);
  throw new UsageError(
    `unknown command "${name}"`,
    close
      ? `did you mean \`roster ${close.name}\`? (roster --help lists the commands)`
      : 'roster --help lists the commands',
  );
}

/** What a command opened and the CLI closes at exit: discovery instances and raw backends. */
interface Closeable {
  close(): Promise<unknown>;
}

interface ContextParts {
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

function createContext(args: ParsedArgs, parts: ContextParts): CommandContext {
  const { out, err, env, progress, opened, interrupt } = parts;
  let target: BackendTarget | undefined;
  const logger = new CliLogger(err, parts.verbose, progress, parts.writes);
  const connectTimeout = () =>
    args.number('connect-timeout', { min: 100, integer: true }) ?? DEFAULT_CONNECT_TIMEOUT;
  const backendFor = (where: BackendTarget, namespace: string, timeout: number) =>
    createBackend(where, namespace, connectionFlags(args, env), parts.loadModule, timeout);
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
      return options.ttl ?? ttlOption(args, env) ?? DEFAULT_TTL;
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
      const backend = await backendFor(where, namespace, timeout);
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

/** What a failed connection attempt says: a timeout and an interruption get their own line. */
function connectionFailure(error: unknown, where: BackendTarget, timeout: number): unknown {
  if (error === TIMED_OUT)
    return new CliError(`cannot reach ${describeTarget(where)} within ${duration(timeout)}`, {
      hint: 'is the server running? check the URL and the credentials, or raise --connect-timeout',
    });
  if (error === INTERRUPTED)
    return new CliError('interrupted while connecting', { exitCode: EXIT_INTERRUPTED });
  return error;
}

const TIMED_OUT = Symbol('timed out');
const INTERRUPTED = Symbol('interrupted');

function deadline<T>(work: Promise<T>, ms: number, signal: AbortSignal, abandon: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const give = (reason: symbol) => {
      cleanup();
      abandon();
      reject(reason);
    };
    const timer = setTimeout(() => give(TIMED_OUT), ms);
    const onAbort = () => give(INTERRUPTED);
    signal.addEventListener('abort', onAbort, { once: true });
    const cleanup = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) return give(INTERRUPTED);
    work.then(
      (value) => {
        cleanup();
        resolve(value);
      },
      (error) => {
        cleanup();
        reject(error);
      },
    );
  });
}

/** The backends' warning that the server keeps nothing across a restart (Redis without AOF or RDB). */
const DURABILITY_WARNING = /no AOF or RDB|restart loses every record/;

/**
 * Core's logger for the CLI: warnings and errors always (on stderr), debug and info with --verbose.
 * While connecting it holds what it is told: on success it prints it, on failure it drops it, so
 * that a failed command still says one line (the error), unless --verbose asks for everything.
 */
class CliLogger implements Logger {
  private held: (() => void)[] | undefined;
  private muted = false;
  private readonly said = new Set<string>();

  constructor(
    private readonly err: Terminal,
    private readonly verbose: boolean,
    private readonly progress: Progress,
    private readonly writes: boolean,
  ) {}

  debug(message: string, details?: Record<string, unknown>): void {
    if (this.verbose) this.write('debug', 'dim', message, details);
  }
  info(message: string, details?: Record<string, unknown>): void {
    if (this.verbose) this.write('info', 'dim', message, details);
  }
  warn(message: string, details?: Record<string, unknown>): void {
    // A store that loses records on restart matters to a command that stores some, not to `ls`.
    if (!this.writes && DURABILITY_WARNING.test(message)) this.info(message, details);
    else this.write('warn', 'yellow', message, details);
  }
  error(message: string, details?: Record<string, unknown>): void {
    this.write('error', 'red', message, details);
  }

  hold(): void {
    if (!this.verbose) this.held ??= [];
  }

  /** Ends a hold: prints what was held (`flush`) or drops it and everything after (`mute`). */
  release(outcome: 'flush' | 'mute'): void {
    const held = this.held ?? [];
    this.held = undefined;
    if (outcome === 'mute' && !this.verbose) this.muted = true;
    else for (const print of held) print();
  }

  private write(
    level: string,
    style: 'dim' | 'yellow' | 'red',
    message: string,
    details?: Record<string, unknown>,
  ) {
    if (this.muted) return;
    // The demo opens one connection per node: say each warning once, not once per connection.
    if (!this.verbose && this.said.has(message)) return;
    this.said.add(message);
    const print = () => {
      this.progress.stop();
      const extra = details
        ? Object.entries(details)
            .map(
              ([key, value]) =>
                `${key}=${value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value)}`,
            )
            .join(' ')
        : '';
      this.err.line(this.err.paint(style, `roster: ${level}: ${message}${extra ? ` ${extra}` : ''}`));
    };
    if (this.held) this.held.push(print);
    else print();
  }
}

async function closeAll(opened: Set<Closeable>, err: Terminal): Promise<void> {
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

function installSignalHandlers(controller: AbortController, err: Terminal): () => void {
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

function linkSignal(external: AbortSignal, controller: AbortController): () => void {
  const forward = () => controller.abort();
  if (external.aborted) forward();
  else external.addEventListener('abort', forward, { once: true });
  return () => external.removeEventListener('abort', forward);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
