// A user's own backend, run through the conformance suite as published. The backend delegates to
// the published memory backend: what is tested here is the packaging (the suite loads from the
// tarball, its vitest peer resolves, the SPI types compile), not memory's behaviour.
import type {
  BackendChange,
  BackendOpenContext,
  DiscoveryBackend,
  PutOptions,
  WriteCondition,
} from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { createMemoryStore, memoryBackend } from '@roster/memory';

class WrappedBackend implements DiscoveryBackend {
  readonly name = 'wrapped-memory';
  constructor(private readonly inner: DiscoveryBackend) {}
  get supports() {
    return this.inner.supports;
  }
  open(context: BackendOpenContext) {
    return this.inner.open(context);
  }
  put(key: string, value: Uint8Array, options?: PutOptions) {
    return this.inner.put(key, value, options);
  }
  delete(key: string, condition?: WriteCondition) {
    return this.inner.delete(key, condition);
  }
  get(key: string) {
    return this.inner.get(key);
  }
  list() {
    return this.inner.list();
  }
  watch(cursor: string, onChange: (change: BackendChange) => void) {
    return this.inner.watch(cursor, onChange);
  }
  history(key: string, limit: number) {
    return this.inner.history!(key, limit);
  }
  close() {
    return this.inner.close();
  }
}

const store = createMemoryStore();
describeConformance({
  name: 'wrapped-memory',
  createBackend: ({ namespace }) => new WrappedBackend(memoryBackend({ store, namespace })),
});
