// The server-side half of the test kit every backend's tests share: one owner-process fixture
// with one output format, and ensureBuilt for the packages such a process runs. The
// backend-independent half (freshNamespace, captureLogger, a self-closing open()) is public in
// `@roster/core/conformance`, where custom backend authors get it too; it is re-exported here so
// that backend tests import their whole kit from one place. Importing it loads vitest, which works
// outside a vitest run too (bench, chaos): only the helpers that need the running test need vitest's.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { onTestFinished } from 'vitest';

export {
  type CapturedLog,
  type CapturedLogger,
  type Closable,
  captureLogger,
  freshNamespace,
  type LogLevel,
  open,
} from '@roster/core/conformance';

/** What the owner-process fixture prints, one JSON object a line. */
export interface OwnerLine {
  /** On the first line: the node as `register()` resolved it. */
  readonly registered?: { readonly id: string; readonly instanceId: string; readonly registeredAt: number };
  /** The owner's `lastSeen` of the node after `register()` and after each heartbeat (epoch ms). */
  readonly lastSeen: number;
}

export interface OwnerProcessOptions {
  /** The backend package's directory: the fixture imports its built `dist/index.js`. */
  readonly packageDir: string;
  /** The factory the package exports, e.g. `natsBackend`. */
  readonly factory: string;
  /** Options for the factory (JSON), besides the namespace. */
  readonly backend: Record<string, unknown>;
  readonly namespace: string;
  readonly id: string;
  readonly ttl: number;
  /** Ms the fixture may take to register before the start fails. Default 15 000. */
  readonly startTimeout?: number;
}

/** A process that owns one node and heartbeats it every ttl / 4 until it is killed. */
export interface OwnerProcess {
  readonly child: ChildProcess;
  /** The first line: the node as registered. */
  readonly registered: NonNullable<OwnerLine['registered']>;
  /** The owner's newest `lastSeen` of the node so far: when its last heartbeat began. */
  lastSeen(): number;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /**
   * SIGKILL right after the next heartbeat returned (none is in flight then: the next is
   * ttl / 4 away); resolves with that heartbeat's `lastSeen`, when the node's ttl restarted.
   */
  killAfterHeartbeat(): Promise<number>;
}

/**
 * Builds the package in `packageDir` (its tsup) when a file of its `src/` is newer than
 * `dist/index.js`: processes a test starts run the built files. Synchronous, so a test that
 * measures time should call it before it starts the clock.
 */
export function ensureBuilt(packageDir: string): void {
  const root = packageDir.endsWith('/') ? packageDir : `${packageDir}/`;
  const dist = `${root}dist/index.js`;
  const newestSource = Math.max(...readdirSync(`${root}src`).map((f) => statSync(`${root}src/${f}`).mtimeMs));
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestSource) return;
  const build = spawnSync(`${root}node_modules/.bin/tsup`, [], {
    cwd: root,
    stdio: 'pipe',
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`building ${root} failed:\n${build.stdout}\n${build.stderr}`);
}

const FIXTURE = fileURLToPath(new URL('../fixtures/owner-process.mjs', import.meta.url));

/**
 * Starts the owner-process fixture (a process of its own, on the built packages — built first
 * when stale, see {@link ensureBuilt}; core's from the backend package's own dependency, so both
 * are one copy) and resolves once it registered. The process is killed when the current test ends.
 */
export async function startOwnerProcess(options: OwnerProcessOptions): Promise<OwnerProcess> {
  ensureBuilt(options.packageDir);
  const dir = options.packageDir.endsWith('/') ? options.packageDir : `${options.packageDir}/`;
  const args = [
    FIXTURE,
    pathToFileURL(`${dir}dist/index.js`).href,
    pathToFileURL(`${dir}node_modules/@roster/core/dist/index.js`).href,
    options.factory,
    JSON.stringify(options.backend),
    options.namespace,
    options.id,
    String(options.ttl),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  onTestFinished(() => kill());
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  let lastSeen = 0;
  let pending = '';
  const onLine = new Set<(line: OwnerLine) => void>();
  const killAfterHeartbeat = () =>
    new Promise<number>((resolve) => {
      const next = (line: OwnerLine) => {
        onLine.delete(next);
        child.kill('SIGKILL');
        void exited.then(() => resolve(line.lastSeen));
      };
      onLine.add(next);
    });
  return new Promise<OwnerProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      void kill();
      reject(
        new Error(`the owner process printed nothing within ${options.startTimeout ?? 15_000} ms: ${stderr}`),
      );
    }, options.startTimeout ?? 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const text of lines) {
        const line = parseLine(text);
        if (!line) continue;
        lastSeen = Math.max(lastSeen, line.lastSeen);
        for (const listener of [...onLine]) listener(line);
        if (line.registered) {
          clearTimeout(timer);
          resolve({ child, registered: line.registered, lastSeen: () => lastSeen, kill, killAfterHeartbeat });
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the owner process exited (${signal ?? code}) before it registered: ${stderr}`));
    });
  });
}

/** A line of the fixture, or undefined for anything else on its stdout (never a throw in a stream handler). */
function parseLine(text: string): OwnerLine | undefined {
  try {
    const line = JSON.parse(text) as OwnerLine;
    return typeof line?.lastSeen === 'number' ? line : undefined;
  } catch {
    return undefined;
  }
}
