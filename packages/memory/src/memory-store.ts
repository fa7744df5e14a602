import { BackendUnavailableError, ConfigMismatchError } from '@roster/core';
import { MemoryNamespace } from './memory-namespace.js';

/** A backend connected to a store, told when the simulated server goes away and comes back. */
export interface MemoryConnection {
  disconnected(): void;
  reconnected(): void;
}

/**
 * Fault injection for tests (the memory counterpart of `@roster/test-services` handles):
 * `restart` drops every connection for a moment (feeds must resynchronise), `pause` freezes the
 * store so that nothing answers and no TTL fires until it resumes, as SIGSTOP does to a server.
 */
export interface MemoryStoreFaults {
  restart(downtimeMs?: number): Promise<void>;
  pause(ms: number): Promise<void>;
}

/**
 * Holds the namespaces that memory backends share. Backends on one store see each other:
 * a cluster in one process.
 *
 * @example
 * ```ts
 * const store = createMemoryStore();
 * const a = await createDiscovery({ backend: memoryBackend({ store }) });
 * const b = await createDiscovery({ backend: memoryBackend({ store }) });
 * ```
 */
export interface MemoryStore {
  /** Simulated outages for tests. */
  readonly faults: MemoryStoreFaults;
}

const DEFAULT_RESTART_DOWNTIME = 200;

export class MemoryStoreImpl implements MemoryStore {
  private readonly namespaces = new Map<string, MemoryNamespace>();
  private readonly connections = new Set<MemoryConnection>();
  private down = false;
  private paused: Promise<void> | undefined;

  readonly faults: MemoryStoreFaults = {
    restart: async (downtimeMs = DEFAULT_RESTART_DOWNTIME) => {
      this.down = true;
      for (const connection of this.connections) connection.disconnected();
      await new Promise((resolve) => setTimeout(resolve, downtimeMs));
      this.down = false;
      for (const connection of this.connections) connection.reconnected();
    },
    pause: async (ms: number) => {
      let resume!: () => void;
      this.paused = new Promise((resolve) => {
        resume = resolve;
      });
      for (const namespace of this.namespaces.values()) namespace.freeze();
      await new Promise((resolve) => setTimeout(resolve, ms));
      this.paused = undefined;
      for (const namespace of this.namespaces.values()) namespace.thaw();
      resume();
    },
  };

  /** Creates the namespace, or checks that an existing one has the same TTL. */
  open(name: string, ttl: number): MemoryNamespace {
    const existing = this.namespaces.get(name);
    if (existing) {
      if (existing.ttl !== ttl)
        throw new ConfigMismatchError(
          `memory namespace "${name}" exists with ttl ${existing.ttl} ms; this instance asked for ${ttl} ms`,
        );
      return existing;
    }
    const namespace = new MemoryNamespace(ttl);
    this.namespaces.set(name, namespace);
    return namespace;
  }

  /** The namespace if some backend opened it, without creating it (see `inspect()`). */
  find(name: string): MemoryNamespace | undefined {
    return this.namespaces.get(name);
  }

  connect(connection: MemoryConnection): () => void {
    this.connections.add(connection);
    return () => this.connections.delete(connection);
  }

  /**
   * Waits out a pause, and rejects while the simulated server is down: what every operation does
   * first. A pause longer than `timeout` rejects as a frozen server's request would time out
   * (rule 14 of docs/guarantees.md); the operation is then not applied.
   */
  async reachable(timeout: number): Promise<void> {
    if (this.paused) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeout);
      });
      const resumed = await Promise.race([this.paused.then(() => true), late]);
      clearTimeout(timer);
      if (!resumed)
        throw new BackendUnavailableError(
          `the memory store did not answer within the request timeout of ${timeout} ms (a simulated pause)`,
        );
    }
    if (this.down)
      throw new BackendUnavailableError('the memory store is unreachable (a simulated restart is under way)');
  }
}

/** A new, empty store. */
export function createMemoryStore(): MemoryStore {
  return new MemoryStoreImpl();
}

/** The store of backends created without one: every memory backend of the process shares it. */
export const defaultMemoryStore: MemoryStore = createMemoryStore();
