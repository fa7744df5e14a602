import { DelegatingBackend } from '../spi/delegating-backend.js';
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
 * metrics are enabled; otherwise core talks to the backend directly. Everything it does not
 * measure (name, namespace, supports, `inspect()`) is forwarded by {@link DelegatingBackend}.
 */
export class MeasuredBackend extends DelegatingBackend {
  constructor(
    inner: DiscoveryBackend,
    private readonly metrics: DiscoveryMetrics,
  ) {
    super(inner);
    // The forwarder DelegatingBackend set, present exactly when the inner backend has history():
    // core checks for the method.
    const history = this.history;
    if (history) this.history = (key, limit) => this.measure('history', () => history(key, limit));
  }

  override open(context: BackendOpenContext): Promise<void> {
    return this.measure('open', () => super.open(context));
  }

  override put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.measure('put', () => super.put(key, value, options));
  }

  override delete(key: string, condition?: WriteCondition): Promise<boolean> {
    return this.measure('delete', () => super.delete(key, condition));
  }

  override get(key: string): Promise<BackendEntry | undefined> {
    return this.measure('get', () => super.get(key));
  }

  override list(): Promise<BackendSnapshot> {
    return this.measure('list', () => super.list());
  }

  override watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    const started = performance.now();
    try {
      const watch = super.watch(cursor, onChange);
      this.metrics.backendCall('watch', performance.now() - started);
      return watch;
    } catch (error) {
      this.metrics.backendCall('watch', performance.now() - started, error);
      throw error;
    }
  }

  override close(): Promise<void> {
    return this.measure('close', () => super.close());
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
