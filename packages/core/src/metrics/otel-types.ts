// The part of `@opentelemetry/api` that Roster uses, written out structurally. Core's public types
// (`DiscoveryOptions.meterProvider`, `.meter`) refer to these instead of the package's own, so that
// the API stays an optional peer dependency: a user without it installed still type-checks, and
// any `MeterProvider` or `Meter` of `@opentelemetry/api` 1.x is assignable to them.

/** Attribute values Roster records: strings only (backend, namespace, event type, reason …). */
export type MetricAttributesLike = Readonly<Record<string, string>>;

/** Options of an instrument, as `@opentelemetry/api`'s `MetricOptions`. */
export interface MetricOptionsLike {
  description?: string;
  unit?: string;
  /** Read by API >= 1.7 and SDKs that support it; ignored by older ones. */
  advice?: { explicitBucketBoundaries?: number[] };
}

/** A monotonic counter (`Counter` of `@opentelemetry/api`). */
export interface CounterLike {
  add(value: number, attributes?: MetricAttributesLike): void;
}

/** A histogram (`Histogram` of `@opentelemetry/api`). */
export interface HistogramLike {
  record(value: number, attributes?: MetricAttributesLike): void;
}

/** What an observable's callback gets (`ObservableResult` of `@opentelemetry/api`). */
export interface ObservableResultLike {
  observe(value: number, attributes?: MetricAttributesLike): void;
}

/** An asynchronous instrument (`ObservableGauge` of `@opentelemetry/api`). */
export interface ObservableLike {
  addCallback(callback: (result: ObservableResultLike) => void): void;
  removeCallback(callback: (result: ObservableResultLike) => void): void;
}

/**
 * A meter: `Meter` of `@opentelemetry/api`, e.g. `metrics.getMeter('my-app')`.
 */
export interface MeterLike {
  createCounter(name: string, options?: MetricOptionsLike): CounterLike;
  createHistogram(name: string, options?: MetricOptionsLike): HistogramLike;
  createObservableGauge(name: string, options?: MetricOptionsLike): ObservableLike;
}

/**
 * A meter provider: `MeterProvider` of `@opentelemetry/api`, e.g. the SDK's
 * `new MeterProvider({ readers: [...] })` from `@opentelemetry/sdk-metrics`.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string, options?: { schemaUrl?: string }): MeterLike;
}
