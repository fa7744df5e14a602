import { InvalidOptionsError } from './errors.js';
import { assertValidMeterOptions } from './metrics/resolve-meter.js';
import type { DiscoveryOptions } from './types/discovery-options.js';
import { type Logger, silentLogger } from './types/logger.js';

export const DEFAULT_TTL = 10_000;
export const MIN_TTL = 1_000;

/** `DiscoveryOptions` with defaults filled in and ranges checked. */
export interface ResolvedOptions
  extends Required<Omit<DiscoveryOptions, 'onOwnNodeLost' | 'logger' | 'meterProvider' | 'meter'>> {
  readonly logger: Logger;
  readonly onOwnNodeLost: DiscoveryOptions['onOwnNodeLost'];
}

export function resolveOptions(options: DiscoveryOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionsError('createDiscovery() takes an options object with a backend');
  const { backend } = options;
  if (!backend || typeof backend.open !== 'function' || typeof backend.put !== 'function')
    throw new InvalidOptionsError(
      'options.backend must be a DiscoveryBackend, e.g. memoryBackend() from @roster/memory',
    );
  // A backend written against another version of the SPI would be misread, not merely slower.
  if (backend.specificationVersion !== undefined && backend.specificationVersion !== 'v1')
    throw new InvalidOptionsError(
      `the ${String(backend.name)} backend implements SPI ${JSON.stringify(backend.specificationVersion)}; this @roster/core implements "v1"`,
    );
  const ttl = options.ttl ?? DEFAULT_TTL;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < MIN_TTL)
    throw new InvalidOptionsError(`ttl must be a number of ms >= ${MIN_TTL}, got ${String(ttl)}`);
  const heartbeatInterval = options.heartbeatInterval ?? ttl / 3;
  if (
    typeof heartbeatInterval !== 'number' ||
    !Number.isFinite(heartbeatInterval) ||
    heartbeatInterval < 10 ||
    heartbeatInterval * 1.1 >= ttl
  )
    throw new InvalidOptionsError(
      `heartbeatInterval must be >= 10 ms and, with its 10 % jitter, below the ttl (${ttl} ms), got ${String(heartbeatInterval)}`,
    );
  assertValidMeterOptions(options);
  return {
    backend,
    ttl,
    heartbeatInterval,
    autoHeartbeat: options.autoHeartbeat ?? true,
    reregister: options.reregister ?? true,
    onOwnNodeLost: options.onOwnNodeLost,
    logger: options.logger ?? silentLogger,
  };
}
