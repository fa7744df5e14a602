import { spawn } from 'node:child_process';

/** What `ConformanceOptions.ownerProcess` starts: a separate process that owns one node. */
export interface OwnerProcess {
  /** Kills the process with SIGKILL (no close, no unregister) and resolves once it has exited. */
  kill(): Promise<void>;
}

/** What the suite asks of an owner process: own `id` on `namespace` with `ttl`. */
export interface OwnerProcessContext {
  readonly namespace: string;
  readonly ttl: number;
  readonly id: string;
}

/**
 * Starts `node <script> ...args` and resolves once the script prints its first line on stdout
 * (which it does after `register()` resolved). The script is the backend package's own fixture:
 * it opens `createDiscovery` on its backend, registers the node and keeps running until killed.
 * Rejects when the process exits before that line or prints nothing within `startTimeout`.
 *
 * @example
 * ```ts
 * describeConformance({
 *   name: 'redis',
 *   createBackend: ({ namespace }) => redisBackend({ url, namespace }),
 *   ownerProcess: ({ namespace, id, ttl }) =>
 *     spawnOwnerProcess(fileURLToPath(new URL('./fixtures/owner.mjs', import.meta.url)), [url, namespace, id, String(ttl)]),
 * });
 * ```
 */
export function spawnOwnerProcess(
  script: string,
  args: readonly string[],
  startTimeout = 15_000,
): Promise<OwnerProcess> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const owner: OwnerProcess = {
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  return new Promise<OwnerProcess>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      void owner.kill();
      reject(new Error(`the owner process ${script} printed nothing within ${startTimeout} ms: ${stderr}`));
    }, startTimeout);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) {
        clearTimeout(timer);
        resolve(owner);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`the owner process ${script} exited (${signal ?? code}) before it registered: ${stderr}`),
      );
    });
  });
}
