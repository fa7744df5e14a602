import { readFileSync } from 'node:fs';
import { metrics } from '@opentelemetry/api';
import {
  DataPointType,
  type HistogramMetricData,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import { BackendUnavailableError, InvalidOptionsError } from '../src/errors.js';
import { discoveryMetrics, NO_METRICS } from '../src/metrics/discovery-metrics.js';
import { errorType } from '../src/metrics/error-type.js';
import { INSTRUMENTS } from '../src/metrics/instruments.js';
import { MeasuredBackend, measuredBackend } from '../src/metrics/measured-backend.js';
import { resolveMeter } from '../src/metrics/resolve-meter.js';
import { ViewGauges } from '../src/metrics/view-gauges.js';
import type { BackendChange, DiscoveryBackend } from '../src/spi/discovery-backend.js';
import type { NodeDiscovery } from '../src/types/node-discovery.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace, wrapBackend } from './support/backends.js';

/** A reader collected by hand: each `read()` is one collection of the provider's metrics. */
class TestReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}

  async read(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await this.collect();
    expect(errors).toEqual([]);
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics)
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    return byName;
  }
}

type Attrs = Record<string, string>;

function matches(attributes: Record<string, unknown>, wanted: Attrs): boolean {
  return Object.entries(wanted).every(([key, value]) => attributes[key] === value);
}

/** Sum of a counter's (or last value of a gauge's) points whose attributes include `wanted`. */
function sumOf(metric: MetricData | undefined, wanted: Attrs = {}): number {
  if (!metric) return 0;
  let total = 0;
  for (const point of metric.dataPoints)
    if (matches(point.attributes, wanted) && typeof point.value === 'number') total += point.value;
  return total;
}

/** How many measurements a histogram holds among points whose attributes include `wanted`. */
function countOf(metric: MetricData | undefined, wanted: Attrs = {}): number {
  if (!metric) return 0;
  expect(metric.dataPointType).toBe(DataPointType.HISTOGRAM);
  let count = 0;
  for (const point of (metric as HistogramMetricData).dataPoints)
    if (matches(point.attributes, wanted)) count += point.value.count;
  return count;
}

/** Polls `check` until it holds, or fails after `ms`. */
async function until(check: () => Promise<boolean> | boolean, ms = 3_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A Map backend that says which namespace it was opened on (as the shipped backends do). */
function namedBackend(namespace: string): DiscoveryBackend {
  return { ...mapBackend({ namespace }), namespace };
}

function meterProvider(): { provider: MeterProvider; reader: TestReader } {
  const reader = new TestReader();
  return { provider: new MeterProvider({ readers: [reader] }), reader };
}

const open: NodeDiscovery[] = [];
async function discovery(options: Parameters<typeof createDiscovery>[0]): Promise<NodeDiscovery> {
  const instance = await createDiscovery(options);
  open.push(instance);
  return instance;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close().catch(() => {})));
  metrics.disable();
  vi.doUnmock('@opentelemetry/api');
  vi.resetModules();
});

describe('metrics follow the cluster (OpenTelemetry SDK, manual reader)', () => {
  it('register: nodes gauge 1, owned 1, one joined event, register and put latencies, with backend and namespace', async () => {
    const namespace = freshNamespace('mreg');
    const { provider, reader } = meterProvider();
    const d = await discovery({ backend: namedBackend(namespace), meterProvider: provider });
    await d.register({ id: 'api-1' });
    const m = await reader.read();
    const base = { 'roster.backend': 'map', 'roster.namespace': namespace };
    expect(sumOf(m.get('roster.view.nodes'), base)).toBe(1);
    expect(sumOf(m.get('roster.owned.nodes'), base)).toBe(1);
    expect(sumOf(m.get('roster.events'), { ...base, 'roster.event.type': 'joined' })).toBe(1);
    expect(countOf(m.get('roster.register.duration'), base)).toBe(1);
    expect(countOf(m.get('roster.backend.duration'), { ...base, 'roster.operation': 'put' })).toBe(1);
    expect(countOf(m.get('roster.backend.duration'), { ...base, 'roster.operation': 'list' })).toBe(1);
    expect(countOf(m.get('roster.backend.duration'), { ...base, 'roster.operation': 'open' })).toBe(1);
    expect(m.get('roster.register.duration')?.descriptor.unit).toBe('s');
    expect(m.get('roster.view.nodes')?.descriptor.unit).toBe('{node}');
    // Every point of every instrument carries both attributes.
    for (const metric of m.values())
      for (const point of metric.dataPoints) expect(matches(point.attributes, base)).toBe(true);
  });

  it('a backend that does not declare its namespace: reported with roster.backend only', async () => {
    const { provider, reader } = meterProvider();
    const d = await discovery({
      backend: mapBackend({ namespace: freshNamespace('mnons') }),
      meterProvider: provider,
    });
    await d.register({ id: 'api-1' });
    const points = (await reader.read()).get('roster.view.nodes')?.dataPoints;
    expect(points?.map((p) => p.attributes)).toEqual([{ 'roster.backend': 'map' }]);
  });

  it('heartbeat: heartbeats sent and the round-trip histogram move; an update counts as updated', async () => {
    const { provider, reader } = meterProvider();
    const d = await discovery({
      backend: namedBackend(freshNamespace('mhb')),
      meterProvider: provider,
      autoHeartbeat: false,
    });
    await d.register({ id: 'api-1' });
    let m = await reader.read();
    expect(sumOf(m.get('roster.heartbeat.sent'))).toBe(0);
    await d.heartbeat('api-1');
    await d.heartbeat('api-1', 0.5);
    m = await reader.read();
    expect(sumOf(m.get('roster.heartbeat.sent'))).toBe(2);
    expect(countOf(m.get('roster.heartbeat.duration'))).toBe(2);
    expect(sumOf(m.get('roster.heartbeat.failed'))).toBe(0);
    // A plain heartbeat is no event (rule 2); the load change is one `updated`.
    expect(sumOf(m.get('roster.events'), { 'roster.event.type': 'updated' })).toBe(1);
  });

  it('automatic heartbeats are counted too', async () => {
    const { provider, reader } = meterProvider();
    const d = await discovery({
      backend: namedBackend(freshNamespace('mauto')),
      meterProvider: provider,
      ttl: 1_000,
      heartbeatInterval: 50,
    });
    await d.register({ id: 'api-1' });
    await until(
      async () => sumOf((await reader.read()).get('roster.heartbeat.sent')) >= 3,
      3_000,
      '3 heartbeats',
    );
  });

  it('a failing backend: heartbeats failed by error type, and the failed put in the backend latencies', async () => {
    const namespace = freshNamespace('mfail');
    const inner = namedBackend(namespace);
    let failing = false;
    const backend = wrapBackend(inner, {
      async put(key, value, options) {
        if (failing) throw new BackendUnavailableError('the test cut the backend off');
        return inner.put(key, value, options);
      },
    });
    const { provider, reader } = meterProvider();
    const d = await discovery({ backend, meterProvider: provider, autoHeartbeat: false });
    await d.register({ id: 'api-1' });
    failing = true;
    await expect(d.heartbeat('api-1')).rejects.toBeInstanceOf(BackendUnavailableError);
    await expect(d.heartbeat('api-1')).rejects.toBeInstanceOf(BackendUnavailableError);
    const m = await reader.read();
    const failed = { 'error.type': 'ERR_BACKEND_UNAVAILABLE' };
    expect(sumOf(m.get('roster.heartbeat.failed'), failed)).toBe(2);
    expect(sumOf(m.get('roster.heartbeat.sent'))).toBe(0);
    expect(countOf(m.get('roster.heartbeat.duration'), failed)).toBe(2);
    expect(countOf(m.get('roster.backend.duration'), { 'roster.operation': 'put', ...failed })).toBe(2);
    // The successful put of register() has no error.type.
    const put = m
      .get('roster.backend.duration')
      ?.dataPoints.filter((p) => p.attributes['roster.operation'] === 'put');
    expect(put?.filter((p) => p.attributes['error.type'] === undefined)).toHaveLength(1);
  });

  it('unregister: left with reason unregistered; both gauges back to 0', async () => {
    const { provider, reader } = meterProvider();
    const d = await discovery({ backend: namedBackend(freshNamespace('munreg')), meterProvider: provider });
    await d.register({ id: 'api-1' });
    await d.unregister('api-1');
    const m = await reader.read();
    expect(
      sumOf(m.get('roster.events'), { 'roster.event.type': 'left', 'roster.leave.reason': 'unregistered' }),
    ).toBe(1);
    expect(sumOf(m.get('roster.events'), { 'roster.event.type': 'left' })).toBe(1);
    expect(sumOf(m.get('roster.view.nodes'))).toBe(0);
    expect(sumOf(m.get('roster.owned.nodes'))).toBe(0);
    expect(countOf(m.get('roster.backend.duration'), { 'roster.operation': 'delete' })).toBe(1);
  });

  it('expiry: a watcher counts left with reason expired (rule 4)', async () => {
    const namespace = freshNamespace('mexp');
    const owner = await discovery({ backend: namedBackend(namespace), ttl: 1_000 });
    const { provider, reader } = meterProvider();
    const observer = await discovery({
      backend: namedBackend(namespace),
      ttl: 1_000,
      meterProvider: provider,
    });
    await owner.register({ id: 'api-1' });
    await until(() => observer.get('api-1') !== undefined, 2_000, 'the join');
    expect(sumOf((await reader.read()).get('roster.view.nodes'))).toBe(1);
    await owner.close({ unregister: false });
    const expired = { 'roster.event.type': 'left', 'roster.leave.reason': 'expired' };
    await until(
      async () => sumOf((await reader.read()).get('roster.events'), expired) === 1,
      3_000,
      'left expired',
    );
    const m = await reader.read();
    expect(sumOf(m.get('roster.view.nodes'))).toBe(0);
    expect(sumOf(m.get('roster.events'), { 'roster.event.type': 'left' })).toBe(1);
  });

  it('an owned node deleted by another instance: owned lost (unregistered), then registered again', async () => {
    const namespace = freshNamespace('mlost');
    const { provider, reader } = meterProvider();
    const owner = await discovery({
      backend: namedBackend(namespace),
      meterProvider: provider,
      autoHeartbeat: false,
    });
    const other = await discovery({ backend: namedBackend(namespace) });
    await owner.register({ id: 'api-1' });
    await until(() => other.get('api-1') !== undefined, 2_000, 'the join');
    await other.unregister('api-1');
    // The owner's feed reports the delete of its record: it is lost (rule 6), then registered again.
    const lost = { 'roster.leave.reason': 'unregistered' };
    await until(
      async () => sumOf((await reader.read()).get('roster.owned.lost'), lost) === 1,
      3_000,
      'the loss',
    );
    await until(() => owner.get('api-1') !== undefined, 2_000, 'the re-registration');
    const m = await reader.read();
    expect(sumOf(m.get('roster.owned.lost'))).toBe(1);
    expect(sumOf(m.get('roster.owned.nodes'))).toBe(1);
  });

  it('a foreign value in the namespace: counted as skipped, the watcher goes on (rule 10)', async () => {
    const namespace = freshNamespace('mforeign');
    const { provider, reader } = meterProvider();
    const d = await discovery({ backend: namedBackend(namespace), meterProvider: provider });
    const raw = mapBackend({ namespace });
    await raw.open({ ttl: 10_000, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    await raw.put('not-a-node', new TextEncoder().encode('{"hello":"world"}'));
    await until(
      async () => sumOf((await reader.read()).get('roster.foreign_records')) === 1,
      2_000,
      'the foreign record',
    );
    await d.register({ id: 'api-1' });
    expect(d.list().map((n) => n.id)).toEqual(['api-1']);
    await raw.close();
  });

  it('a resync: counted once per lost continuity, and the namespace is listed again', async () => {
    const namespace = freshNamespace('mresync');
    const inner = namedBackend(namespace);
    let feed: ((change: BackendChange) => void) | undefined;
    const backend = wrapBackend(inner, {
      watch(cursor, onChange) {
        feed = onChange;
        return inner.watch(cursor, onChange);
      },
    });
    const { provider, reader } = meterProvider();
    await discovery({ backend, meterProvider: provider });
    const listsBefore = countOf((await reader.read()).get('roster.backend.duration'), {
      'roster.operation': 'list',
    });
    expect(sumOf((await reader.read()).get('roster.resyncs'))).toBe(0);
    feed?.({ type: 'resync', reason: 'the test dropped the feed' });
    await until(
      async () =>
        countOf((await reader.read()).get('roster.backend.duration'), { 'roster.operation': 'list' }) >
        listsBefore,
      5_000,
      'the re-list',
    );
    expect(sumOf((await reader.read()).get('roster.resyncs'))).toBe(1);
  });

  it('close: the gauges of a closed instance drop to 0', async () => {
    const { provider, reader } = meterProvider();
    const d = await discovery({ backend: namedBackend(freshNamespace('mclose')), meterProvider: provider });
    await d.register({ id: 'api-1' });
    await d.register({ id: 'api-2' });
    let m = await reader.read();
    expect(m.get('roster.view.nodes')?.dataPoints.map((p) => p.value)).toEqual([2]);
    expect(m.get('roster.owned.nodes')?.dataPoints.map((p) => p.value)).toEqual([2]);
    await d.close({ unregister: false });
    m = await reader.read();
    expect(m.get('roster.view.nodes')?.dataPoints.map((p) => p.value)).toEqual([0]);
    expect(m.get('roster.owned.nodes')?.dataPoints.map((p) => p.value)).toEqual([0]);
  });

  it('two instances of one namespace in a process: the view is not double counted, owned nodes add up', async () => {
    const namespace = freshNamespace('mtwo');
    const { provider, reader } = meterProvider();
    const a = await discovery({ backend: namedBackend(namespace), meterProvider: provider });
    const b = await discovery({ backend: namedBackend(namespace), meterProvider: provider });
    await a.register({ id: 'a-1' });
    await b.register({ id: 'b-1' });
    await b.register({ id: 'b-2' });
    await until(() => a.list().length === 3 && b.list().length === 3, 2_000, 'both views');
    const m = await reader.read();
    expect(sumOf(m.get('roster.view.nodes'))).toBe(3);
    expect(sumOf(m.get('roster.owned.nodes'))).toBe(3);
  });
});

describe('the OpenTelemetry API is optional', () => {
  it('reports through the global meter provider when an SDK registered one before createDiscovery', async () => {
    const { provider, reader } = meterProvider();
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true);
    const d = await discovery({ backend: namedBackend(freshNamespace('mglobal')) });
    await d.register({ id: 'api-1' });
    expect(sumOf((await reader.read()).get('roster.events'), { 'roster.event.type': 'joined' })).toBe(1);
  });

  it('without an SDK: the no-op meter is recognised, nothing is measured, and core works', async () => {
    expect(await resolveMeter({})).toBeUndefined();
    const d = await discovery({ backend: namedBackend(freshNamespace('mnoop')) });
    await d.register({ id: 'api-1' });
    await d.heartbeat('api-1');
    await d.unregister('api-1');
    expect(d.list()).toEqual([]);
  });

  it('when importing @opentelemetry/api fails, createDiscovery still works and reports nothing', async () => {
    // A registered SDK that would receive measurements, had the import worked.
    const { provider, reader } = meterProvider();
    metrics.setGlobalMeterProvider(provider);
    vi.resetModules();
    vi.doMock('@opentelemetry/api', () => {
      throw new Error("Cannot find package '@opentelemetry/api'");
    });
    const fresh = (await import('../src/index.js')) as typeof import('../src/index.js');
    const d = await fresh.createDiscovery({ backend: namedBackend(freshNamespace('mnoapi')) });
    open.push(d);
    await d.register({ id: 'api-1' });
    await d.heartbeat('api-1');
    expect(d.list().map((n) => n.id)).toEqual(['api-1']);
    expect([...(await reader.read()).keys()].filter((name) => name.startsWith('roster.'))).toEqual([]);
  });

  it('resolveMeter: an explicit meter wins, then a provider, then the global; a failed import gives none', async () => {
    const { provider } = meterProvider();
    const meter = provider.getMeter('mine');
    expect(await resolveMeter({ meter, meterProvider: new MeterProvider() })).toBe(meter);
    expect(await resolveMeter({ meterProvider: provider })).toBe(provider.getMeter('@roster/core'));
    expect(await resolveMeter({}, () => Promise.resolve(undefined))).toBeUndefined();
    metrics.setGlobalMeterProvider(provider);
    expect(await resolveMeter({})).toBe(provider.getMeter('@roster/core'));
  });

  it('rejects a meterProvider or meter that is not one, before writing anything', async () => {
    const namespace = freshNamespace('mbad');
    const backend = namedBackend(namespace);
    const put = vi.spyOn(backend, 'put');
    const open = vi.spyOn(backend, 'open');
    await expect(
      createDiscovery({ backend, meterProvider: {} as unknown as MeterProvider }),
    ).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(createDiscovery({ backend, meter: { createCounter() {} } as never })).rejects.toThrow(
      /options\.meter must be an OpenTelemetry Meter/,
    );
    expect(open).not.toHaveBeenCalled();
    expect(put).not.toHaveBeenCalled();
  });

  it('without a meter nothing is wrapped or recorded', () => {
    const backend = namedBackend(freshNamespace('mnone'));
    expect(discoveryMetrics(undefined, 'map', 'x')).toBe(NO_METRICS);
    expect(measuredBackend(backend, NO_METRICS)).toBe(backend);
    const { provider } = meterProvider();
    const measured = measuredBackend(backend, discoveryMetrics(provider.getMeter('t'), 'map', 'x'));
    expect(measured).toBeInstanceOf(MeasuredBackend);
    // A backend without history stays one without it (core checks for the method).
    expect(measured.history).toBeUndefined();
  });
});

describe('metric building blocks', () => {
  it('gauges of several sources: the largest view and the sum of owned nodes per attribute set', async () => {
    const { provider, reader } = meterProvider();
    const gauges = new ViewGauges(provider.getMeter('gauges'));
    const attributes = { 'roster.backend': 'map', 'roster.namespace': 'n1' };
    const stopA = gauges.add({ attributes, viewSize: () => 4, ownedSize: () => 1 });
    const stopB = gauges.add({ attributes: { ...attributes }, viewSize: () => 3, ownedSize: () => 2 });
    const stopC = gauges.add({
      attributes: { ...attributes, 'roster.namespace': 'n2' },
      viewSize: () => 7,
      ownedSize: () => 0,
    });
    let m = await reader.read();
    expect(sumOf(m.get('roster.view.nodes'), { 'roster.namespace': 'n1' })).toBe(4);
    expect(sumOf(m.get('roster.owned.nodes'), { 'roster.namespace': 'n1' })).toBe(3);
    expect(sumOf(m.get('roster.view.nodes'), { 'roster.namespace': 'n2' })).toBe(7);
    stopA();
    m = await reader.read();
    expect(sumOf(m.get('roster.view.nodes'), { 'roster.namespace': 'n1' })).toBe(3);
    expect(sumOf(m.get('roster.owned.nodes'), { 'roster.namespace': 'n1' })).toBe(2);
    stopB();
    stopC();
    m = await reader.read();
    expect(m.get('roster.view.nodes')?.dataPoints.map((p) => p.value)).toEqual([0, 0]);
    expect(m.get('roster.owned.nodes')?.dataPoints.map((p) => p.value)).toEqual([0, 0]);
  });

  it('a closed source reads 0 at every collection of every reader, not its last value', async () => {
    const first = new TestReader();
    const second = new TestReader();
    const provider = new MeterProvider({ readers: [first, second] });
    const gauges = new ViewGauges(provider.getMeter('gauges'));
    const stop = gauges.add({
      attributes: { 'roster.backend': 'map' },
      viewSize: () => 5,
      ownedSize: () => 5,
    });
    for (const reader of [first, second])
      expect((await reader.read()).get('roster.view.nodes')?.dataPoints.map((p) => p.value)).toEqual([5]);
    stop();
    for (const reader of [first, first, second]) {
      const m = await reader.read();
      expect(m.get('roster.view.nodes')?.dataPoints.map((p) => p.value)).toEqual([0]);
      expect(m.get('roster.owned.nodes')?.dataPoints.map((p) => p.value)).toEqual([0]);
    }
  });

  it('error.type is a stable code, else a class name, else _OTHER', () => {
    expect(errorType(new BackendUnavailableError('down'))).toBe('ERR_BACKEND_UNAVAILABLE');
    expect(errorType(new TypeError('x'))).toBe('TypeError');
    expect(errorType('a string')).toBe('_OTHER');
    expect(errorType({ code: `ERR_${'X'.repeat(200)}` })).toBe('_OTHER');
  });

  it('docs/metrics.md lists every instrument with its type and unit', () => {
    const doc = readFileSync(new URL('../../../docs/metrics.md', import.meta.url), 'utf8');
    for (const instrument of Object.values(INSTRUMENTS)) {
      // Cells may be padded (the Markdown formatter aligns the table).
      const row = doc.split('\n').find((line) => new RegExp(`^\\| \`${instrument.name}\` +\\|`).test(line));
      expect(row, instrument.name).toBeDefined();
      expect(row).toContain(` ${instrument.kind} `);
      expect(row).toContain(`\`${instrument.unit}\``);
      for (const attribute of instrument.attributes) expect(row).toContain(`\`${attribute}\``);
    }
  });
});
