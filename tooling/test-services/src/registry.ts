import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { ServiceHandle } from './service-handle.js';

// Everything started in this process, so that it can be torn down when the run ends however it
// ends: stopAllServices() for an orderly teardown, the 'exit' hook and signal handlers as a
// backstop. (Children are also spawned with a parent-death signal where available, which covers a
// test process that is SIGKILLed.)
const handles = new Set<ServiceHandle>();
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let hooksInstalled = false;

/** Synchronous, so it can run in an 'exit' listener: SIGCONT first so a paused child is not left frozen, then SIGKILL. */
function killEverythingNow(): void {
  for (const child of children) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort: a leftover temp dir is not worth failing the exit for
    }
  }
  tempDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killEverythingNow();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  // Our listener replaced the default action (exit); restore it unless someone else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverythingNow);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function trackHandle(handle: ServiceHandle): void {
  installHooks();
  handles.add(handle);
}

export function untrackHandle(handle: ServiceHandle): void {
  handles.delete(handle);
}

export function trackChild(child: ChildProcess): void {
  installHooks();
  children.add(child);
}

export function untrackChild(child: ChildProcess): void {
  children.delete(child);
}

export function trackTempDir(dir: string): void {
  installHooks();
  tempDirs.add(dir);
}

export function untrackTempDir(dir: string): void {
  tempDirs.delete(dir);
}

/**
 * Stops every server started by this process (binaries and containers) and removes their temp
 * dirs. Call it from `afterAll` or a vitest `globalSetup` teardown; servers left running at exit are
 * SIGKILLed anyway.
 *
 * @example
 * ```ts
 * afterAll(() => stopAllServices());
 * ```
 */
export async function stopAllServices(): Promise<void> {
  const results = await Promise.allSettled([...handles].map((handle) => handle.stop()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.reason),
      `${failures.length} service(s) failed to stop`,
    );
  }
}
