import type { ServiceHandle, ServiceKind } from './service-handle.js';

/** A server someone else runs, named by an environment variable: we neither stop nor fault it. */
export function envServiceHandle(kind: ServiceKind, url: string, envVar: string): ServiceHandle {
  const refuse = (operation: string) =>
    Promise.reject(
      new Error(
        `cannot ${operation} ${kind} at ${url}: it comes from ${envVar}, and fault injection ` +
          `needs a server started by @roster/test-services. ` +
          `Unset ${envVar} to let it start one.`,
      ),
    );
  return {
    url,
    kind,
    source: 'env',
    stop: () => Promise.resolve(),
    restart: () => refuse('restart'),
    kill: () => refuse('kill'),
    pause: () => refuse('pause'),
    suspend: () => refuse('suspend'),
    resume: () => refuse('resume'),
  };
}
