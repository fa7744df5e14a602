import type { MetricOptionsLike } from './otel-types.js';

// Every instrument Roster reports, in one place: docs/metrics.md lists the same table and a test
// checks that the two agree. Names follow OpenTelemetry's semantic-convention style (dotted,
// lowercase, no `_total`; units in UCUM, `{…}` for counted things): exporters derive their own
// spelling from them (Prometheus: `roster_events_total`, `roster_heartbeat_duration_bucket`).

/** Attribute on every measurement: the backend's `name` (`memory`, `nats`, `redis`, `etcd` …). */
export const ATTR_BACKEND = 'roster.backend';
/** Attribute on every measurement: the namespace the backend was opened on. */
export const ATTR_NAMESPACE = 'roster.namespace';
/** `joined`, `updated` or `left`. */
export const ATTR_EVENT_TYPE = 'roster.event.type';
/** `unregistered`, `expired` or `replaced`: on `left` events and lost owned nodes. */
export const ATTR_LEAVE_REASON = 'roster.leave.reason';
/** The SPI method a backend call measured: `open`, `put`, `delete`, `get`, `list`, `watch`, `history`, `close`. */
export const ATTR_OPERATION = 'roster.operation';
/** OpenTelemetry's general attribute for a failed operation: an error code, class name or `conflict`. */
export const ATTR_ERROR_TYPE = 'error.type';

/**
 * Bucket boundaries in seconds for every duration: OpenTelemetry's HTTP duration buckets
 * (5 ms … 10 s) extended downwards, since a loopback or in-memory backend answers in well under
 * a millisecond and the SDK's default buckets (0 … 10 000) are meant for milliseconds.
 */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export type InstrumentKind = 'counter' | 'histogram' | 'gauge';

/** One instrument: what docs/metrics.md documents. */
export interface InstrumentSpec {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly unit: string;
  readonly description: string;
  /** Attributes besides `roster.backend` and `roster.namespace`, which every instrument has. */
  readonly attributes: readonly string[];
}

function spec(
  name: string,
  kind: InstrumentKind,
  unit: string,
  description: string,
  attributes: readonly string[] = [],
): InstrumentSpec {
  return { name, kind, unit, description, attributes };
}

export const INSTRUMENTS = {
  viewNodes: spec(
    'roster.view.nodes',
    'gauge',
    '{node}',
    'Nodes in the local view (what list() returns). Several instances on one namespace in one process report the largest view.',
  ),
  ownedNodes: spec(
    'roster.owned.nodes',
    'gauge',
    '{node}',
    'Nodes this process registered and keeps alive with heartbeats.',
  ),
  events: spec(
    'roster.events',
    'counter',
    '{event}',
    'Changes of the local view, as every watcher of the instance sees them (counted once per instance, not per watcher).',
    [ATTR_EVENT_TYPE, ATTR_LEAVE_REASON],
  ),
  heartbeatsSent: spec(
    'roster.heartbeat.sent',
    'counter',
    '{heartbeat}',
    'Heartbeats of owned nodes that the store accepted.',
  ),
  heartbeatsFailed: spec(
    'roster.heartbeat.failed',
    'counter',
    '{heartbeat}',
    'Heartbeats that failed: the backend call rejected, or the record had changed under the owner (conflict).',
    [ATTR_ERROR_TYPE],
  ),
  ownedLost: spec(
    'roster.owned.lost',
    'counter',
    '{node}',
    'Owned nodes a heartbeat found gone or replaced (rule 6 of docs/guarantees.md; onOwnNodeLost is called).',
    [ATTR_LEAVE_REASON],
  ),
  resyncs: spec(
    'roster.resyncs',
    'counter',
    '{resync}',
    'Times the change feed lost continuity and the namespace was listed again (rule 8 of docs/guarantees.md).',
  ),
  foreignRecords: spec(
    'roster.foreign_records',
    'counter',
    '{record}',
    'Values in the namespace skipped because they are not Roster records (rule 10 of docs/guarantees.md).',
  ),
  heartbeatDuration: spec(
    'roster.heartbeat.duration',
    'histogram',
    's',
    "Round trip of a heartbeat's compare-and-set write, from sending it to the store's answer.",
    [ATTR_ERROR_TYPE],
  ),
  registerDuration: spec(
    'roster.register.duration',
    'histogram',
    's',
    'From a register() call until its record is stored (including a wait for operations under way on the same id).',
    [ATTR_ERROR_TYPE],
  ),
  backendDuration: spec(
    'roster.backend.duration',
    'histogram',
    's',
    'Latency of each call core makes to the backend, by SPI operation. For watch, only starting the feed.',
    [ATTR_OPERATION, ATTR_ERROR_TYPE],
  ),
} as const satisfies Record<string, InstrumentSpec>;

/** The options an instrument is created with. */
export function instrumentOptions(instrument: InstrumentSpec): MetricOptionsLike {
  return {
    description: instrument.description,
    unit: instrument.unit,
    ...(instrument.kind === 'histogram' ? { advice: { explicitBucketBoundaries: DURATION_BUCKETS } } : {}),
  };
}
