// For custom adapters (`pnpm bench --adapter ./my-adapter.ts`): the adapter contract and the SPI baseline.
export type {
  BackendTargets,
  BenchAdapter,
  BenchAdapterFactory,
  ContextWriter,
  CustomBenchAdapter,
  IdleTarget,
  RawBaseline,
  RawExpiry,
  RawFeed,
  RawWriter,
  ServerCounters,
} from './adapter.js';
export { spiBaseline } from './spi-baseline.js';
