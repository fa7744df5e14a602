// The parent's handle on one owner: a child process (SIGKILL / SIGSTOP are real) or, for the
// in-process memory backend, an OwnerAgent in this process (a crash is close without unregister).
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemoryStore } from '@roster/memory';
import { type BackendSpec, makeBackend } from './backend-spec.js';
import { type OwnedState, OwnerAgent, type OwnerCommand, type OwnerReport } from './owner-agent.js';

export interface Owner {
  /** `o<index>g<generation>`: a respawned owner is a new generation. */
  readonly key: string;
  readonly canPause: boolean;
  readonly alive: boolean;
  readonly paused: boolean;
  send(command: Exclude<OwnerCommand, { op: 'state' }>): void;
  /** What the owner believes it holds, or undefined when it does not answer within `timeoutMs`. */
  state(timeoutMs: number): Promise<readonly OwnedState[] | undefined>;
  kill(): Promise<void>;
  /** SIGSTOP now, SIGCONT after ms. */
  pause(ms: number): Promise<void>;
}

export interface OwnerOptions {
  readonly key: string;
  readonly spec: BackendSpec;
  readonly namespace: string;
  readonly ttl: number;
  readonly memoryStore?: MemoryStore;
  readonly onReport: (key: string, report: OwnerReport) => void;
  readonly startTimeoutMs?: number;
}

const OWNER_SCRIPT = fileURLToPath(new URL('./owner-process.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

export async function startOwner(options: OwnerOptions): Promise<Owner> {
  return options.spec.kind === 'memory' ? startInProcessOwner(options) : startChildOwner(options);
}

class StateWaiters {
  private seq = 0;
  private readonly waiting = new Map<number, (nodes: readonly OwnedState[]) => void>();
  next(timeoutMs: number): { seq: number; answer: Promise<readonly OwnedState[] | undefined> } {
    this.seq += 1;
    const seq = this.seq;
    const answer = new Promise<readonly OwnedState[] | undefined>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(seq, (nodes) => {
        clearTimeout(timer);
        this.waiting.delete(seq);
        resolve(nodes);
      });
    });
    return { seq, answer };
  }
  settle(report: OwnerReport): void {
    if (report.type === 'state') this.waiting.get(report.seq)?.(report.nodes);
  }
}

async function startInProcessOwner(options: OwnerOptions): Promise<Owner> {
  const waiters = new StateWaiters();
  let alive = true;
  const agent = new OwnerAgent((report) => {
    if (!alive) return;
    waiters.settle(report);
    options.onReport(options.key, report);
  });
  await agent.start(
    () => makeBackend(options.spec, options.namespace, options.memoryStore).backend,
    options.ttl,
  );
  return {
    key: options.key,
    canPause: false,
    get alive() {
      return alive;
    },
    paused: false,
    send(command) {
      if (alive) agent.handle(command, 0);
    },
    state(timeoutMs) {
      if (!alive) return Promise.resolve(undefined);
      const { seq, answer } = waiters.next(timeoutMs);
      agent.handle({ op: 'state' }, seq);
      return answer;
    },
    async kill() {
      alive = false;
      await agent.crash();
    },
    async pause() {
      throw new Error('an in-process owner cannot be frozen');
    },
  };
}

async function startChildOwner(options: OwnerOptions): Promise<Owner> {
  const waiters = new StateWaiters();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      OWNER_SCRIPT,
      JSON.stringify({ spec: options.spec, namespace: options.namespace, ttl: options.ttl }),
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  let paused = false;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `owner ${options.key} was not ready within ${options.startTimeoutMs ?? 60_000} ms: ${stderr}`,
          ),
        ),
      options.startTimeoutMs ?? 60_000,
    );
    child.on('message', (report: OwnerReport) => {
      if (report.type === 'ready') {
        clearTimeout(timer);
        resolve();
      }
      waiters.settle(report);
      options.onReport(options.key, report);
    });
    void exit.then(() => {
      clearTimeout(timer);
      reject(new Error(`owner ${options.key} exited before it was ready: ${stderr}`));
    });
  });
  try {
    await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const owner: Owner = {
    key: options.key,
    canPause: true,
    get alive() {
      return !exited;
    },
    get paused() {
      return paused;
    },
    send(command) {
      if (!exited) child.send({ seq: 0, command });
    },
    state(timeoutMs) {
      if (exited) return Promise.resolve(undefined);
      const { seq, answer } = waiters.next(timeoutMs);
      child.send({ seq, command: { op: 'state' } });
      return answer;
    },
    async kill() {
      if (!exited) child.kill('SIGKILL');
      await exit;
    },
    async pause(ms) {
      if (exited) return;
      paused = true;
      child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (!exited) child.kill('SIGCONT');
      paused = false;
    },
  };
  return owner;
}
