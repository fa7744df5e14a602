import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  createDiscovery,
  type DiscoveryOptions,
  type Logger,
  type NodeChangeEvent,
  type NodeDiscovery,
  type NodeInfo,
} from '@roster/core';
import { type Seen, Recorder as SuiteRecorder, waitFor as suiteWaitFor } from '@roster/core/conformance';
import { onTestFinished } from 'vitest';
import { type RedisBackendOptions, redisBackend } from '../src/index.js';

export const TTL = 1_000;

let counter = 0;
export function freshNamespace(prefix = 't'): string {
  return `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;
}

export interface CapturedLog {
  readonly level: keyof Logger;
  readonly message: string;
}

export function captureLogger(): Logger & { readonly entries: CapturedLog[] } {
  const entries: CapturedLog[] = [];
  const at = (level: keyof Logger) => (message: string) => {
    entries.push({ level, message });
  };
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Opens a discovery on redis, closed (without unregistering) when the test ends. */
export async function open(
  backend: RedisBackendOptions,
  options: Partial<Omit<DiscoveryOptions, 'backend'>> = {},
): Promise<NodeDiscovery> {
  const discovery = await createDiscovery({ backend: redisBackend(backend), ttl: TTL, ...options });
  onTestFinished(() => discovery.close({ unregister: false }).catch(() => {}));
  return discovery;
}

/** The suite's recorder, stopped when the test ends; `find` returns the first matching event. */
export class Recorder extends SuiteRecorder {
  constructor(discovery: NodeDiscovery) {
    super(discovery);
    onTestFinished(() => this.stop());
  }

  find(match: (e: NodeChangeEvent) => boolean): Seen | undefined {
    return this.seen.find((s) => match(s.event));
  }
}

/** The suite's waitFor, with a longer default deadline for server restarts. */
export function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeout = 15_000,
): Promise<T> {
  return suiteWaitFor(what, check, timeout);
}

export function view(discovery: NodeDiscovery): string {
  return discovery
    .list()
    .map((n) => `${n.id}@${n.instanceId}`)
    .join(',');
}

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The child fixture imports the built package: build it when src is newer than dist. */
export async function ensureBuilt(): Promise<void> {
  const built = (() => {
    try {
      return statSync(`${packageDir}dist/index.js`).mtimeMs;
    } catch {
      return 0;
    }
  })();
  const sources = await readdir(`${packageDir}src`);
  const newest = Math.max(...sources.map((file) => statSync(`${packageDir}src/${file}`).mtimeMs));
  if (newest > built) execFileSync('pnpm', ['build'], { cwd: packageDir, stdio: 'ignore' });
}

/** Starts a child process that registers `id` and heartbeats it until killed. */
export async function spawnOwner(url: string, namespace: string, id: string) {
  const child = spawn(
    process.execPath,
    [`${packageDir}test/fixtures/owner-process.mjs`, url, namespace, id, String(TTL)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  onTestFinished(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const node = await new Promise<NodeInfo>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('\n')) resolve(JSON.parse(output.split('\n')[0]!) as NodeInfo);
    });
    child.once('exit', (code) =>
      reject(new Error(`the owner process exited with ${code} before registering`)),
    );
  });
  return { child, node };
}
