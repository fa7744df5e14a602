import { fileURLToPath } from 'node:url';
import {
  createDiscovery,
  type DiscoveryOptions,
  type NodeChangeEvent,
  type NodeDiscovery,
} from '@roster/core';
import { type Seen, Recorder as SuiteRecorder, waitFor as suiteWaitFor } from '@roster/core/conformance';
import {
  ensureBuilt as buildIfStale,
  type OwnerProcess,
  open as openForTest,
  startOwnerProcess,
} from '@roster/test-services';
import { onTestFinished } from 'vitest';
import { type RedisBackendOptions, redisBackend } from '../src/index.js';

export const TTL = 1_000;

export { captureLogger, freshNamespace } from '@roster/test-services';

/** Opens a discovery on redis, closed (without unregistering) when the test ends. */
export async function open(
  backend: RedisBackendOptions,
  options: Partial<Omit<DiscoveryOptions, 'backend'>> = {},
): Promise<NodeDiscovery> {
  return openForTest(() => createDiscovery({ backend: redisBackend(backend), ttl: TTL, ...options }));
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

/** The test kit's ensureBuilt for this package: child processes run its build. */
export function ensureBuilt(): void {
  buildIfStale(packageDir);
}

/** The test kit's owner process on this package: registers `id`, heartbeats it until killed. */
export function spawnOwner(url: string, namespace: string, id: string): Promise<OwnerProcess> {
  return startOwnerProcess({
    packageDir,
    factory: 'redisBackend',
    backend: { url },
    namespace,
    id,
    ttl: TTL,
  });
}
