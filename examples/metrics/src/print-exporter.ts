import {
  DataPointType,
  type MetricData,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

type ExportCallback = Parameters<PushMetricExporter['export']>[1];

function labels(attributes: Record<string, unknown>): string {
  const pairs = Object.entries(attributes)
    // Every point has these two; the header line shows them once.
    .filter(([key]) => key !== 'roster.backend' && key !== 'roster.namespace')
    .map(([key, value]) => `${key}=${String(value)}`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

/** One line per data point: `roster.events{roster.event.type=joined} 5`. */
export function formatMetric(metric: MetricData): string[] {
  const { name, unit } = metric.descriptor;
  const lines: string[] = [];
  if (metric.dataPointType === DataPointType.HISTOGRAM) {
    for (const point of metric.dataPoints) {
      const { count, sum = 0 } = point.value;
      const mean = count > 0 ? ((sum / count) * 1000).toFixed(3) : '-';
      lines.push(`${name}${labels(point.attributes)} count=${count} mean=${mean} ms`);
    }
  } else {
    for (const point of metric.dataPoints)
      lines.push(`${name}${labels(point.attributes)} ${String(point.value)} ${unit}`);
  }
  return lines;
}

/**
 * An exporter for `PeriodicExportingMetricReader` that prints Roster's metrics compactly (the SDK's
 * `ConsoleMetricExporter` prints every bucket of every histogram). Prints only `roster.*`.
 */
export class PrintExporter implements PushMetricExporter {
  constructor(private readonly write: (line: string) => void = (line) => console.log(line)) {}

  export(metrics: ResourceMetrics, resultCallback: ExportCallback): void {
    const lines: string[] = [];
    let scope = '';
    for (const scopeMetrics of metrics.scopeMetrics)
      for (const metric of scopeMetrics.metrics) {
        if (!metric.descriptor.name.startsWith('roster.')) continue;
        const first = metric.dataPoints[0]?.attributes;
        if (first && !scope)
          scope = `${String(first['roster.backend'])}/${String(first['roster.namespace'])}`;
        lines.push(...formatMetric(metric));
      }
    this.write(`--- roster metrics (${scope || 'none yet'}) at ${new Date().toISOString()}`);
    for (const line of lines) this.write(`  ${line}`);
    // 0 is ExportResultCode.SUCCESS of @opentelemetry/core.
    resultCallback({ code: 0 });
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
