import { INSTRUMENTS, instrumentOptions } from './instruments.js';
import type { MeterLike, MetricAttributesLike, ObservableResultLike } from './otel-types.js';

/** What one discovery instance tells the gauges when they are collected. */
export interface GaugeSource {
  /** `roster.backend` and `roster.namespace` of the instance. */
  readonly attributes: MetricAttributesLike;
  viewSize(): number;
  ownedSize(): number;
}

/**
 * The two gauges of one meter, shared by every discovery instance that reports through it. A
 * gauge keeps one value per attribute set, so instances with the same backend and namespace (a
 * cluster in one process, as with the memory backend) must be added up here rather than each
 * observe its own value, of which the SDK would keep only the last: nodes in the view is the
 * largest view (they all watch the same namespace), owned nodes the sum.
 *
 * When the last instance of a backend and namespace closes, its attribute set is reported as 0
 * from then on: the SDK keeps exporting the last value of a series that is no longer observed
 * (cumulative temporality), and a closed instance sees and owns nothing. Zeros are reported at
 * every collection, not once, since each reader (a Prometheus endpoint and a periodic exporter,
 * say) collects on its own.
 */
export class ViewGauges {
  private readonly sources = new Set<GaugeSource>();
  /** Attribute sets whose instances all closed, by their key. */
  private readonly retired = new Map<string, MetricAttributesLike>();

  constructor(meter: MeterLike) {
    const viewNodes = meter.createObservableGauge(
      INSTRUMENTS.viewNodes.name,
      instrumentOptions(INSTRUMENTS.viewNodes),
    );
    const ownedNodes = meter.createObservableGauge(
      INSTRUMENTS.ownedNodes.name,
      instrumentOptions(INSTRUMENTS.ownedNodes),
    );
    // Registered once per meter and kept: removing them would freeze the last values (above).
    // Sources hold the instances, and are dropped on close, so a closed instance is not retained.
    viewNodes.addCallback((result) => this.observe(result, (s) => s.viewSize(), Math.max));
    ownedNodes.addCallback((result) =>
      this.observe(
        result,
        (s) => s.ownedSize(),
        (a, b) => a + b,
      ),
    );
  }

  /** Reports `source` until the returned function is called (on close). */
  add(source: GaugeSource): () => void {
    this.sources.add(source);
    this.retired.delete(keyOf(source.attributes));
    return () => {
      if (!this.sources.delete(source)) return;
      const key = keyOf(source.attributes);
      for (const other of this.sources) if (keyOf(other.attributes) === key) return;
      this.retired.set(key, source.attributes);
    };
  }

  private observe(
    result: ObservableResultLike,
    read: (source: GaugeSource) => number,
    combine: (a: number, b: number) => number,
  ): void {
    const groups = new Map<string, { attributes: MetricAttributesLike; value: number }>();
    for (const source of this.sources) {
      const key = keyOf(source.attributes);
      const group = groups.get(key);
      const value = read(source);
      if (group) group.value = combine(group.value, value);
      else groups.set(key, { attributes: source.attributes, value });
    }
    for (const { attributes, value } of groups.values()) result.observe(value, attributes);
    for (const attributes of this.retired.values()) result.observe(0, attributes);
  }
}

function keyOf(attributes: MetricAttributesLike): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const gaugesOf = new WeakMap<MeterLike, ViewGauges>();

/** The gauges of `meter`, created on first use. */
export function viewGaugesOf(meter: MeterLike): ViewGauges {
  let gauges = gaugesOf.get(meter);
  if (!gauges) {
    gauges = new ViewGauges(meter);
    gaugesOf.set(meter, gauges);
  }
  return gauges;
}
