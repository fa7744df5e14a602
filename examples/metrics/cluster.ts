// A memory cluster of three instances in one process, with Roster's OpenTelemetry metrics printed
// every few seconds and served to Prometheus. See docs/metrics.md.
//
//   pnpm --filter @roster/example-metrics start         # then: curl localhost:9464/metrics
//
// Environment: METRICS_PORT (default 9464), PRINT_INTERVAL_MS (default 5000), RUN_FOR_MS (default:
// until Ctrl-C).
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { createDiscovery } from '@roster/core';
import { createMemoryStore, memoryBackend } from '@roster/memory';
import { PrintExporter } from './src/print-exporter.js';

const port = Number(process.env.METRICS_PORT ?? 9464);
const printEvery = Number(process.env.PRINT_INTERVAL_MS ?? 5_000);
const runFor = process.env.RUN_FOR_MS ? Number(process.env.RUN_FOR_MS) : undefined;

// 1. The OpenTelemetry SDK, registered globally before any createDiscovery(): Roster takes its
//    meter from the global provider when the instance starts. (Or pass `meterProvider` to
//    createDiscovery.) One reader serves /metrics to Prometheus, the other prints.
const prometheus = new PrometheusExporter({ port }, (error) => {
  if (error) console.error('could not start the Prometheus endpoint:', error);
  else console.log(`Prometheus metrics at http://localhost:${port}/metrics`);
});
const provider = new MeterProvider({
  readers: [
    prometheus,
    new PeriodicExportingMetricReader({ exporter: new PrintExporter(), exportIntervalMillis: printEvery }),
  ],
});
metrics.setGlobalMeterProvider(provider);

// 2. Three instances on one in-process store: a cluster of three "processes".
const store = createMemoryStore();
const ttl = 2_000;
const start = () => createDiscovery({ backend: memoryBackend({ store, namespace: 'demo' }), ttl });
const a = await start();
const b = await start();
const c = await start();

void (async () => {
  for await (const event of a.watch({ includeExisting: false }))
    console.log(`event: ${event.type} ${event.node.id}${event.type === 'left' ? ` (${event.reason})` : ''}`);
})();

await a.register({ id: 'api-1', address: '10.0.0.1:8080', metadata: { role: 'api' } });
await a.register({ id: 'api-2', address: '10.0.0.2:8080', metadata: { role: 'api' } });
await b.register({ id: 'worker-1', metadata: { role: 'worker' } });
await c.register({ id: 'cache-1', metadata: { role: 'cache' } });

// 3. Some life: api-1 reports its load every second (an `updated` each time it changes), c
//    crashes after 3 s (its node expires: `left expired`), worker-1 leaves and comes back.
const timers: NodeJS.Timeout[] = [];
timers.push(setInterval(() => void a.heartbeat('api-1', Math.round(Math.random() * 10) / 10), 1_000));
timers.push(setTimeout(() => void c.close({ unregister: false }), 3_000));
let workerUp = true;
timers.push(
  setInterval(() => {
    workerUp = !workerUp;
    void (workerUp ? b.register({ id: 'worker-1', metadata: { role: 'worker' } }) : b.unregister('worker-1'));
  }, 4_000),
);

// 4. Ctrl-C (or RUN_FOR_MS): stop, print a last time, close the Prometheus endpoint.
async function stop(): Promise<void> {
  for (const timer of timers) clearInterval(timer);
  await Promise.all([a.close(), b.close(), c.close()]);
  await provider.shutdown();
  console.log('stopped');
}
let stopped = false;
const onSignal = () => {
  if (stopped) return;
  stopped = true;
  stop().catch((error: unknown) => {
    console.error('stopping failed:', error);
    process.exitCode = 1;
  });
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
if (runFor !== undefined) timers.push(setTimeout(onSignal, runFor));
