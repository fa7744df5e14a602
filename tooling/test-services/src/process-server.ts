import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { trackChild, untrackChild } from './registry.js';
import { settlesWithin, waitFor } from './wait-for.js';

/** The server could not bind its port; the caller may retry (same port later, or new ports). */
export class AddressInUseError extends Error {
  override readonly name = 'AddressInUseError';
}

export interface ProcessServerOptions {
  /** For messages, e.g. `redis`. */
  label: string;
  /** Absolute path of the server binary. */
  binary: string;
  args: readonly string[];
  cwd: string;
  /** stdout and stderr go here, appended across restarts. */
  logFile: string;
  /** Protocol-level readiness check; false (or a rejection) means "not yet". */
  isReady: () => Promise<boolean>;
  startupTimeoutMs: number;
  /**
   * Runs before every spawn, e.g. to point a restarted Redis node at the current primary in its
   * config file. A rejection fails the start with nothing spawned.
   */
  beforeStart?: () => Promise<void> | void;
}

const STOP_GRACE_MS = 10_000;
const TAIL_BYTES = 4096;

let setprivPath: string | null | undefined;

/**
 * `setpriv --pdeathsig KILL` makes the kernel SIGKILL the server when the spawning process dies,
 * even by SIGKILL, which no 'exit' hook can catch. Linux only; without it we rely on the hooks.
 */
function parentDeathWrapper(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return setprivPath;
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    const probe = spawnSync(candidate, ['--pdeathsig', 'KILL', 'true'], { stdio: 'ignore', timeout: 5000 });
    if (probe.status === 0) {
      setprivPath = candidate;
      break;
    }
  }
  return setprivPath;
}

function readFrom(path: string, offset: number): string {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const start = Math.max(offset, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    fd = openSync(path, 'r');
    readSync(fd, buffer, 0, buffer.length, start);
    return buffer.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * One server process and its lifecycle: start (spawn + wait until ready), graceful stop, SIGKILL,
 * SIGSTOP/SIGCONT. It can be started again after it stopped, with the same arguments.
 */
export class ProcessServer {
  readonly #options: ProcessServerOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #suspended = false;
  #runLogOffset = 0;

  constructor(options: ProcessServerOptions) {
    this.#options = options;
  }

  /** Whether a process is alive (possibly suspended). */
  get running(): boolean {
    return this.#child !== undefined;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The last lines the server wrote during its current (or last) run. */
  logTail(): string {
    return readFrom(this.#options.logFile, this.#runLogOffset).trimEnd();
  }

  /** Spawns the server and resolves once `isReady` says so; on failure nothing is left running. */
  async start(): Promise<void> {
    if (this.#child) throw new Error(`${this.#options.label} is already running`);
    const { binary, args, cwd, logFile, label } = this.#options;
    await this.#options.beforeStart?.();

    // The server writes straight into the log file: no pipe for us to drain, and the log outlives us.
    const logFd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      this.#runLogOffset = statSync(logFile).size;
      writeSync(logFd, `--- ${new Date().toISOString()} ${binary} ${args.join(' ')}\n`);
      const wrapper = parentDeathWrapper();
      const [command, argv] = wrapper
        ? [wrapper, ['--pdeathsig', 'KILL', binary, ...args]]
        : [binary, [...args]];
      child = spawn(command, argv, { cwd, stdio: ['ignore', logFd, logFd], detached: false });
    } finally {
      closeSync(logFd);
    }

    let exitInfo: string | undefined;
    let lastProbeFailure = 'the readiness check never passed';
    this.#child = child;
    this.#suspended = false;
    trackChild(child);
    this.#exited = new Promise<void>((resolve) => {
      const done = (info: string) => {
        exitInfo ??= info;
        untrackChild(child);
        if (this.#child === child) {
          this.#child = undefined;
          this.#suspended = false;
        }
        resolve();
      };
      child.once('exit', (code, signal) =>
        done(signal ? `was killed by ${signal}` : `exited with code ${code}`),
      );
      // A failed spawn (EACCES, ENOENT) may emit 'error' without 'exit'.
      child.once('error', (error) => done(`could not be spawned: ${error.message}`));
    });

    try {
      await waitFor(
        async () => {
          if (exitInfo !== undefined) throw new Error(`${label} ${exitInfo}`);
          try {
            if (await this.#options.isReady()) return true;
            lastProbeFailure = 'the readiness check answered "not ready"';
          } catch (error) {
            lastProbeFailure = `the readiness check failed: ${(error as Error).message}`;
          }
          return false;
        },
        {
          timeoutMs: this.#options.startupTimeoutMs,
          description: `${label} to become ready`,
          intervalMs: 50,
        },
      );
    } catch (error) {
      const stillRunning = exitInfo === undefined;
      await this.kill();
      const tail = this.logTail();
      const message =
        `${label} did not start: ${(error as Error).message}` +
        (stillRunning ? ` (${lastProbeFailure})` : '') +
        `\n` +
        `command: ${binary} ${args.join(' ')}\n` +
        `--- last lines of ${logFile} ---\n${tail}`;
      if (/address already in use/i.test(tail)) throw new AddressInUseError(message);
      throw new Error(message);
    }
  }

  /** SIGTERM (after SIGCONT if suspended), SIGKILL if it has not exited within 10 s. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = this.#exited;
    this.#signal('SIGCONT');
    this.#signal('SIGTERM');
    if (!(await settlesWithin(exited, STOP_GRACE_MS))) {
      this.#signal('SIGKILL');
      await exited;
    }
  }

  /** SIGKILL and wait for the exit event. */
  async kill(): Promise<void> {
    if (!this.#child) return;
    const exited = this.#exited;
    this.#signal('SIGCONT');
    this.#signal('SIGKILL');
    await exited;
  }

  suspend(): void {
    if (!this.#child) throw new Error(`${this.#options.label} is not running`);
    this.#signal('SIGSTOP');
    this.#suspended = true;
  }

  resume(): void {
    if (!this.#suspended) return;
    this.#signal('SIGCONT');
    this.#suspended = false;
  }

  #signal(signal: NodeJS.Signals): void {
    try {
      this.#child?.kill(signal);
    } catch {
      // the process is already gone; its 'exit' event settles the state
    }
  }
}
