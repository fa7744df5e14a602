import { InvalidOptionsError } from '../errors.js';
import type { MeterLike, MeterProviderLike } from './otel-types.js';

/** The instrumentation scope Roster's instruments belong to. */
export const METER_NAME = '@roster/core';

/** What `@opentelemetry/api` offers that Roster uses: the global meter provider. */
export interface OtelApiLike {
  readonly metrics?: { getMeterProvider?(): MeterProviderLike };
  createNoopMeter?(): unknown;
}

let loading: Promise<OtelApiLike | undefined> | undefined;

/**
 * Loads `@opentelemetry/api`, an optional peer dependency, once per process. Absent (or failing
 * to load for any reason) means no metrics, never a failed `createDiscovery`. The dynamic import
 * keeps it out of the startup of users who do not have it; tsup turns it into a `require()`
 * inside a promise in the CommonJS build, which fails the same way.
 */
export function importOtelApi(): Promise<OtelApiLike | undefined> {
  loading ??= import('@opentelemetry/api').then(
    (api) => api as OtelApiLike,
    () => undefined,
  );
  return loading;
}

/** The metrics options of `createDiscovery`. */
export interface MeterOptions {
  readonly meter?: MeterLike;
  readonly meterProvider?: MeterProviderLike;
}

function isMeter(value: unknown): value is MeterLike {
  const meter = value as Partial<MeterLike> | null;
  return (
    typeof meter === 'object' &&
    meter !== null &&
    typeof meter.createCounter === 'function' &&
    typeof meter.createHistogram === 'function' &&
    typeof meter.createObservableGauge === 'function'
  );
}

/** Throws `InvalidOptionsError` for a `meter` or `meterProvider` that is not one (before any I/O). */
export function assertValidMeterOptions(options: MeterOptions): void {
  if (options.meter !== undefined && !isMeter(options.meter))
    throw new InvalidOptionsError(
      'options.meter must be an OpenTelemetry Meter (createCounter, createHistogram, createObservableGauge), e.g. metrics.getMeter("my-app")',
    );
  const provider = options.meterProvider as Partial<MeterProviderLike> | null | undefined;
  if (provider !== undefined && (typeof provider !== 'object' || typeof provider?.getMeter !== 'function'))
    throw new InvalidOptionsError(
      'options.meterProvider must be an OpenTelemetry MeterProvider (with getMeter), e.g. new MeterProvider() from @opentelemetry/sdk-metrics',
    );
}

/**
 * The meter Roster reports through: `options.meter`, else one from `options.meterProvider`, else
 * one from the global provider of `@opentelemetry/api` when it is installed and an SDK has
 * registered one (register it before `createDiscovery`: the API hands out no-op meters until
 * then, and they stay no-op). Undefined: no metrics.
 */
export async function resolveMeter(
  options: MeterOptions,
  importApi: () => Promise<OtelApiLike | undefined> = importOtelApi,
): Promise<MeterLike | undefined> {
  if (options.meter) return options.meter;
  if (options.meterProvider) return options.meterProvider.getMeter(METER_NAME);
  const api = await importApi();
  const provider = api?.metrics?.getMeterProvider?.();
  const meter = provider?.getMeter(METER_NAME);
  if (!isMeter(meter)) return undefined;
  // No SDK registered: the API's no-op meter. Nothing would be recorded, so nothing is measured
  // (no wrapper around the backend, no timing): metrics then cost nothing at all.
  const noop = api?.createNoopMeter?.();
  if (noop && Object.getPrototypeOf(meter) === Object.getPrototypeOf(noop)) return undefined;
  return meter;
}
