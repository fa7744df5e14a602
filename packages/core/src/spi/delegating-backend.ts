// The one full delegation of the SPI: wrappers (core's metrics, the conformance suite's faults, an
// author's own broken variants) extend it and override only what they change, so a member added to
// the SPI is forwarded in one place and no wrapper silently drops it.
import type {
  BackendChange,
  BackendEntry,
  BackendOpenContext,
  BackendSnapshot,
  BackendWatch,
  DiscoveryBackend,
  NamespaceInspection,
  PutOptions,
  PutResult,
  WriteCondition,
} from './discovery-backend.js';

// The optional members, declared on the class's type without a body: each is an own property of an
// instance exactly when its inner backend has it (see the constructor), and a subclass may still
// override one with a method. A body on the prototype would make every wrapper look as if it had them.
export interface DelegatingBackend {
  history?(key: string, limit: number): Promise<Uint8Array[]>;
  inspect?(): Promise<NamespaceInspection>;
}

/**
 * Delegates every SPI member to `inner`; a subclass overrides what it changes. `namespace`,
 * `specificationVersion` and `supports` are read from `inner`; the optional `history()` and
 * `inspect()` are present exactly when `inner` has them, so a wrapped backend keeps (or lacks)
 * what callers check for — `createDiscovery` for history, the CLI's read-only commands for
 * `inspect()`. A subclass that overrides one of those two defines it as a method and calls
 * `this.inner`'s (there is no `super` one).
 *
 * Core's metrics wrapper and the conformance suite's fault wrappers are built on it, and so can a
 * custom backend author's own (a broken variant of their backend, to prove a test of theirs
 * catches it).
 *
 * @example
 * ```ts
 * import { DelegatingBackend, type PutOptions } from '@roster/core/spi';
 *
 * class CountingPuts extends DelegatingBackend {
 *   puts = 0;
 *   override put(key: string, value: Uint8Array, options?: PutOptions) {
 *     this.puts += 1;
 *     return super.put(key, value, options);
 *   }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above only adds the SPI's optional methods, set in the constructor
export class DelegatingBackend implements DiscoveryBackend {
  constructor(protected readonly inner: DiscoveryBackend) {
    // `this.history` here is a subclass's method, if it defines one: that one stays.
    const history = inner.history;
    if (typeof history === 'function' && typeof this.history !== 'function')
      this.history = (key, limit) => history.call(inner, key, limit);
    const inspect = inner.inspect;
    if (typeof inspect === 'function' && typeof this.inspect !== 'function')
      this.inspect = () => inspect.call(inner);
  }
  get specificationVersion(): DiscoveryBackend['specificationVersion'] {
    return this.inner.specificationVersion;
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
    return this.inner.open(context);
  }
  put(key: string, value: Uint8Array, options?: PutOptions): Promise<PutResult> {
    return this.inner.put(key, value, options);
  }
  delete(key: string, condition?: WriteCondition): Promise<boolean> {
    return this.inner.delete(key, condition);
  }
  get(key: string): Promise<BackendEntry | undefined> {
    return this.inner.get(key);
  }
  list(): Promise<BackendSnapshot> {
    return this.inner.list();
  }
  watch(cursor: string, onChange: (change: BackendChange) => void): BackendWatch {
    return this.inner.watch(cursor, onChange);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
