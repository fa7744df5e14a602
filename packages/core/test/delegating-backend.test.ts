import { describe, expect, it } from 'vitest';
import { createDiscovery } from '../src/discovery.js';
import {
  type BackendOperation,
  type DiscoveryMetrics,
  NO_METRICS,
} from '../src/metrics/discovery-metrics.js';
import { MeasuredBackend } from '../src/metrics/measured-backend.js';
import { DelegatingBackend } from '../src/spi/delegating-backend.js';
import type { DiscoveryBackend, NamespaceInspection, PutOptions } from '../src/spi/discovery-backend.js';
import { DelegatingBackend as FromSpiEntry } from '../src/spi/index.js';
import { silentLogger } from '../src/types/logger.js';
import { mapBackend } from './fixtures/map-backend.js';
import { freshNamespace } from './support/backends.js';

// DelegatingBackend forwards the whole SPI, the optional members exactly when the inner backend
// has them: a wrapped backend keeps the read-only CLI's inspect() and the metrics' namespace, and
// one without inspect() stays without it (the CLI then warns and falls back to open()).

/** A backend with every optional member; its methods use `this`, as a class-based backend's do. */
class FullBackend {
  readonly specificationVersion = 'v1' as const;
  readonly namespace: string;
  readonly map: DiscoveryBackend;
  readonly inspection: NamespaceInspection = { exists: true, ttl: 4_321 };
  constructor(namespace: string) {
    this.namespace = namespace;
    this.map = mapBackend({ namespace });
  }
  get name() {
    return 'full';
  }
  get supports() {
    return { ...this.map.supports, history: true };
  }
  open: DiscoveryBackend['open'] = (context) => this.map.open(context);
  put: DiscoveryBackend['put'] = (key, value, options) => this.map.put(key, value, options);
  delete: DiscoveryBackend['delete'] = (key, condition) => this.map.delete(key, condition);
  get: DiscoveryBackend['get'] = (key) => this.map.get(key);
  list: DiscoveryBackend['list'] = () => this.map.list();
  watch: DiscoveryBackend['watch'] = (cursor, onChange) => this.map.watch(cursor, onChange);
  close: DiscoveryBackend['close'] = () => this.map.close();
  async history(key: string, limit: number): Promise<Uint8Array[]> {
    const entry = await this.map.get(key);
    return entry ? [entry.value].slice(0, limit) : [];
  }
  async inspect(): Promise<NamespaceInspection> {
    return this.inspection;
  }
}

/** Metrics that only keep which backend calls were measured. */
function recordingMetrics(): DiscoveryMetrics & { calls: BackendOperation[] } {
  const calls: BackendOperation[] = [];
  return {
    ...NO_METRICS,
    enabled: true,
    calls,
    backendCall(operation) {
      calls.push(operation);
    },
  };
}

describe('DelegatingBackend', () => {
  it('is the same class from @roster/core/spi', () => {
    expect(FromSpiEntry).toBe(DelegatingBackend);
  });

  it('a wrapped backend keeps inspect(), history(), namespace, specificationVersion and name', async () => {
    const inner = new FullBackend(freshNamespace('dw'));
    const wrapped: DiscoveryBackend = new DelegatingBackend(inner as DiscoveryBackend);
    expect(wrapped.name).toBe('full');
    expect(wrapped.namespace).toBe(inner.namespace);
    expect(wrapped.specificationVersion).toBe('v1');
    expect(wrapped.supports.history).toBe(true);
    expect(typeof wrapped.inspect).toBe('function');
    expect(await wrapped.inspect!()).toBe(inner.inspection);
    await wrapped.open({ ttl: 1_000, logger: silentLogger });
    await wrapped.put('a', new Uint8Array([7]));
    expect(await wrapped.history!('a', 5)).toEqual([new Uint8Array([7])]);
    await wrapped.close();
  });

  it('a backend without inspect() or history() stays without them: the properties are absent', async () => {
    const inner = mapBackend({ namespace: freshNamespace('dw') });
    expect('inspect' in inner || 'history' in inner).toBe(false);
    const wrapped: DiscoveryBackend = new DelegatingBackend(inner);
    expect('inspect' in wrapped).toBe(false);
    expect('history' in wrapped).toBe(false);
    expect(wrapped.namespace).toBeUndefined();
    expect(wrapped.specificationVersion).toBeUndefined();
    // And core runs on it as on the inner backend.
    const discovery = await createDiscovery({ backend: wrapped, ttl: 1_000 });
    await discovery.register({ id: 'n-1' });
    expect(discovery.get('n-1')?.id).toBe('n-1');
    await discovery.close();
  });

  it("a subclass's own inspect() is kept (with or without one inside), and super calls reach the inner backend", async () => {
    class Overriding extends DelegatingBackend {
      puts = 0;
      override async inspect(): Promise<NamespaceInspection> {
        return { exists: false };
      }
      override put(key: string, value: Uint8Array, options?: PutOptions) {
        this.puts += 1;
        return super.put(key, value, options);
      }
    }
    const overFull = new Overriding(new FullBackend(freshNamespace('dw')) as DiscoveryBackend);
    expect(await overFull.inspect()).toEqual({ exists: false });
    const overMap = new Overriding(mapBackend({ namespace: freshNamespace('dw') }));
    expect(await overMap.inspect()).toEqual({ exists: false });
    const discovery = await createDiscovery({ backend: overMap, ttl: 1_000 });
    await discovery.register({ id: 'n-1' });
    expect(overMap.puts).toBe(1);
    expect((await overMap.get('n-1'))?.key).toBe('n-1');
    await discovery.close();
  });
});

describe('MeasuredBackend (a DelegatingBackend that measures)', () => {
  it('keeps inspect() and namespace unmeasured, and measures history() when the inner backend has it', async () => {
    const inner = new FullBackend(freshNamespace('dm'));
    const metrics = recordingMetrics();
    const measured = new MeasuredBackend(inner as DiscoveryBackend, metrics);
    expect(measured.namespace).toBe(inner.namespace);
    expect(await measured.inspect!()).toBe(inner.inspection);
    expect(metrics.calls).toEqual([]);
    await measured.open({ ttl: 1_000, logger: silentLogger });
    await measured.put('a', new Uint8Array([1]));
    expect(await measured.history!('a', 1)).toEqual([new Uint8Array([1])]);
    await measured.close();
    expect(metrics.calls).toEqual(['open', 'put', 'history', 'close']);
  });

  it('adds neither inspect() nor history() to a backend without them', () => {
    const measured = new MeasuredBackend(mapBackend({ namespace: freshNamespace('dm') }), recordingMetrics());
    expect('inspect' in measured).toBe(false);
    expect('history' in measured).toBe(false);
  });
});
