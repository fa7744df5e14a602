import type {
  BackendChange,
  BackendEntry,
  BackendOpenContext,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
  PutOptions,
  PutResult,
  WriteCondition,
} from '../spi/discovery-backend.js';
import type { BackendOperation, DiscoveryMetrics } from './discovery-metrics.js';

/**
 * `backend` with the latency of every call recorded as `roster.backend.duration`, by operation:
 * one place measures what every backend does, and backends stay free of metrics. Only used when
 * metrics are enabled; otherwise core talks to the backend directly.
 */
export class MeasuredBackend implements DiscoveryBackend {
  /** Present exactly when the inner backend has it: core checks for the method. */
  readonly history?: (key: string, limit: number) => Promise<Uint8Array[]>;

  constructor(
    private readonly inner: DiscoveryBackend,
    private readonly metrics: DiscoveryMetrics,
  ) {
    const history = inner.history;
    if (typeof history === 'function')
      this.history = (key, limit) => this.measure('history', () => history.call(inner, key, limit));
  }

  get name(): string {
    return this.inner.name;
  }

  get namespace(): string | undefined {
    return this.inner.namespace;
  }

  get supports(): DiscoveryBackend['supports'] {
    return this.inner.supports;
  }

  open(context: BackendOpenContext): Promise<void> {
    return this.measure('open', () => this.inner.open(context));
  }

  put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.measure('put', () => this.inner.put(key, value, options));
  }

  delete(key: string, condition?: WriteCondition): Promise<boolean> {
    return this.measure('delete', () => this.inner.delete(key, condition));
  }

  get(key: string): Promise<BackendEntry | undefined> {
    return this.measure('get', () => this.inner.get(key));
  }

  list(): Promise<BackendSnapshot> {
    return this.measure('list', () => this.inner.list());
  }

  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const started = performance.now();
    try {
      const watch = this.inner.watch(cursor, onChange);
      this.metrics.backendCall('watch', performance.now() - started);
      return watch;
    } catch (error) {
      this.metrics.backendCall('watch', performance.now() - started, error);
      throw error;
    }
  }

  close(): Promise<void> {
    return this.measure('close', () => this.inner.close());
  }

  private async measure<T>(operation: BackendOperation, call: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const result = await call();
      this.metrics.backendCall(operation, performance.now() - started);
      return result;
    } catch (error) {
      this.metrics.backendCall(operation, performance.now() - started, error);
      throw error;
    }
  }
}

/** `backend` itself when nothing is measured, else a {@link MeasuredBackend} around it. */
export function measuredBackend(backend: DiscoveryBackend, metrics: DiscoveryMetrics): DiscoveryBackend {
  return metrics.enabled ? new MeasuredBackend(backend, metrics) : backend;
}
