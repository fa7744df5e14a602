// `runCli`: one `roster` command line, from argv to exit code — help and version, the command's
// flags, its context (command-context.ts), and one line for any error (error-report.ts).

import { parseCommandArgs, splitCommand } from './argv.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from './cli-error.js';
import { type Closeable, closeAll, createContext } from './command-context.js';
import { requireCommand } from './command-lookup.js';
import { COMMANDS } from './commands/index.js';
import { reportError } from './error-report.js';
import { GLOBAL_OPTIONS } from './global-options.js';
import { commandHelp, mainHelp } from './help.js';
import { importModule, type ModuleLoader } from './module-loader.js';
import { Progress } from './progress.js';
import { installSignalHandlers, linkSignal } from './signal-handling.js';
import { colourEnabled, type OutputStream, Terminal } from './terminal.js';

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
