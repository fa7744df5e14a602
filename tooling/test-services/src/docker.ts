import type { ContainerRuntimeClient } from 'testcontainers';

const DETECTION_TIMEOUT_MS = 5_000;
let detection: Promise<ContainerRuntimeClient | undefined> | undefined;

/**
 * The container runtime client when a Docker engine answers, else undefined. Asked once per process
 * (testcontainers is only imported here, so the binary path never loads it), and bounded by a
 * timeout so an unreachable DOCKER_HOST cannot hang the run.
 */
export function containerRuntime(): Promise<ContainerRuntimeClient | undefined> {
  detection ??= (async () => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), DETECTION_TIMEOUT_MS);
        timer.unref();
      });
      return await Promise.race([getContainerRuntimeClient(), timeout]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  })();
  return detection;
}
