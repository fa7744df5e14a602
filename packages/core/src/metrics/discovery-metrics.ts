import type { NodeChangeEvent } from '../types/node-change-event.js';
import { withErrorType } from './error-type.js';
import {
  ATTR_BACKEND,
  ATTR_ERROR_TYPE,
  ATTR_EVENT_TYPE,
  ATTR_LEAVE_REASON,
  ATTR_NAMESPACE,
  ATTR_OPERATION,
  INSTRUMENTS,
  instrumentOptions,
} from './instruments.js';
import type { CounterLike, HistogramLike, MeterLike, MetricAttributesLike } from './otel-types.js';
import { type GaugeSource, viewGaugesOf } from './view-gauges.js';

/** An SPI method, as `roster.operation` names it. */
export type BackendOperation = 'open' | 'put' | 'delete' | 'get' | 'list' | 'watch' | 'history' | 'close';

/**
 * What one discovery instance reports, called at the few places where things happen. Durations
 * are in ms (from `performance.now()`) and recorded in seconds. Without a meter every method is
 * an empty function ({@link NO_METRICS}).
 */
export interface DiscoveryMetrics {
  /** True when measurements go somewhere; callers may skip timing work when false. */
  readonly enabled: boolean;
  /** A change of the local view (what watchers get). */
  event(event: NodeChangeEvent): void;
  /** A heartbeat's write answered: `error` when it rejected, `'conflict'` when the record had changed. */
  heartbeat(ms: number, error?: unknown): void;
  /** An owned node was found gone or replaced. */
  ownedLost(reason: string): void;
  /** A register() call finished (stored, or failed with `error`). */
  registered(ms: number, error?: unknown): void;
  /** Continuity was lost; the namespace is listed again. */
  resync(): void;
  /** A value that is not a Roster record was skipped. */
  foreignRecord(): void;
  /** A backend call settled. */
  backendCall(operation: BackendOperation, ms: number, error?: unknown): void;
  /** Starts reporting the gauges of `source`'s view; stops at `close()`. */
  observe(source: Omit<GaugeSource, 'attributes'>): void;
  /** Stops the gauges of this instance (counters keep their totals). */
  close(): void;
}

function nothing(): void {}

/** Reports nothing, at the cost of a call to an empty function. */
export const NO_METRICS: DiscoveryMetrics = Object.freeze({
  enabled: false,
  event: nothing,
  heartbeat: nothing,
  ownedLost: nothing,
  registered: nothing,
  resync: nothing,
  foreignRecord: nothing,
  backendCall: nothing,
  observe: nothing,
  close: nothing,
});

const OPERATIONS: readonly BackendOperation[] = [
  'open',
  'put',
  'delete',
  'get',
  'list',
  'watch',
  'history',
  'close',
];

/** The conflict of a compare-and-set heartbeat, as `error.type`. */
export const CONFLICT = 'conflict';

class MeteredDiscovery implements DiscoveryMetrics {
  readonly enabled = true;
  private readonly base: MetricAttributesLike;
  private readonly events: CounterLike;
  private readonly heartbeatsSent: CounterLike;
  private readonly heartbeatsFailed: CounterLike;
  private readonly ownedLostCounter: CounterLike;
  private readonly resyncs: CounterLike;
  private readonly foreignRecords: CounterLike;
  private readonly heartbeatDuration: HistogramLike;
  private readonly registerDuration: HistogramLike;
  private readonly backendDuration: HistogramLike;
  // Attribute sets are built once: recording on a hot path allocates nothing when all goes well.
  private readonly eventAttributes = new Map<string, MetricAttributesLike>();
  private readonly operationAttributes = new Map<string, MetricAttributesLike>();
  private readonly conflictAttributes: MetricAttributesLike;
  private stopGauges: (() => void) | undefined;

  constructor(
    private readonly meter: MeterLike,
    backend: string,
    namespace: string | undefined,
  ) {
    // A custom backend that does not declare its namespace is reported without the attribute.
    const base: Record<string, string> = { [ATTR_BACKEND]: backend };
    if (typeof namespace === 'string') base[ATTR_NAMESPACE] = namespace;
    this.base = Object.freeze(base);
    const counter = (spec: (typeof INSTRUMENTS)[keyof typeof INSTRUMENTS]) =>
      meter.createCounter(spec.name, instrumentOptions(spec));
    const histogram = (spec: (typeof INSTRUMENTS)[keyof typeof INSTRUMENTS]) =>
      meter.createHistogram(spec.name, instrumentOptions(spec));
    this.events = counter(INSTRUMENTS.events);
    this.heartbeatsSent = counter(INSTRUMENTS.heartbeatsSent);
    this.heartbeatsFailed = counter(INSTRUMENTS.heartbeatsFailed);
    this.ownedLostCounter = counter(INSTRUMENTS.ownedLost);
    this.resyncs = counter(INSTRUMENTS.resyncs);
    this.foreignRecords = counter(INSTRUMENTS.foreignRecords);
    this.heartbeatDuration = histogram(INSTRUMENTS.heartbeatDuration);
    this.registerDuration = histogram(INSTRUMENTS.registerDuration);
    this.backendDuration = histogram(INSTRUMENTS.backendDuration);
    for (const type of ['joined', 'updated'])
      this.eventAttributes.set(type, this.with(ATTR_EVENT_TYPE, type));
    for (const reason of ['unregistered', 'expired', 'replaced'])
      this.eventAttributes.set(
        `left:${reason}`,
        Object.freeze({ ...this.base, [ATTR_EVENT_TYPE]: 'left', [ATTR_LEAVE_REASON]: reason }),
      );
    for (const operation of OPERATIONS)
      this.operationAttributes.set(operation, this.with(ATTR_OPERATION, operation));
    this.conflictAttributes = this.with(ATTR_ERROR_TYPE, CONFLICT);
  }

  event(event: NodeChangeEvent): void {
    const key = event.type === 'left' ? `left:${event.reason}` : event.type;
    this.events.add(1, this.eventAttributes.get(key) ?? this.base);
  }

  heartbeat(ms: number, error?: unknown): void {
    if (error === undefined) {
      this.heartbeatsSent.add(1, this.base);
      this.heartbeatDuration.record(ms / 1000, this.base);
      return;
    }
    const attributes = error === CONFLICT ? this.conflictAttributes : withErrorType(this.base, error);
    this.heartbeatsFailed.add(1, attributes);
    this.heartbeatDuration.record(ms / 1000, attributes);
  }

  ownedLost(reason: string): void {
    this.ownedLostCounter.add(1, this.with(ATTR_LEAVE_REASON, reason));
  }

  registered(ms: number, error?: unknown): void {
    this.registerDuration.record(
      ms / 1000,
      error === undefined ? this.base : withErrorType(this.base, error),
    );
  }

  resync(): void {
    this.resyncs.add(1, this.base);
  }

  foreignRecord(): void {
    this.foreignRecords.add(1, this.base);
  }

  backendCall(operation: BackendOperation, ms: number, error?: unknown): void {
    const attributes = this.operationAttributes.get(operation) ?? this.with(ATTR_OPERATION, operation);
    this.backendDuration.record(
      ms / 1000,
      error === undefined ? attributes : withErrorType(attributes, error),
    );
  }

  observe(source: Omit<GaugeSource, 'attributes'>): void {
    this.stopGauges?.();
    const attributes = this.base;
    this.stopGauges = viewGaugesOf(this.meter).add({
      attributes,
      viewSize: () => source.viewSize(),
      ownedSize: () => source.ownedSize(),
    });
  }

  close(): void {
    this.stopGauges?.();
    this.stopGauges = undefined;
  }

  private with(name: string, value: string): MetricAttributesLike {
    return Object.freeze({ ...this.base, [name]: value });
  }
}

/**
 * The metrics of one discovery instance on `backend` and `namespace`, through `meter`;
 * {@link NO_METRICS} without one.
 */
export function discoveryMetrics(
  meter: MeterLike | undefined,
  backend: string,
  namespace: string | undefined,
): DiscoveryMetrics {
  return meter ? new MeteredDiscovery(meter, backend, namespace) : NO_METRICS;
}
