import type { ContainerRuntimeClient, GenericContainer, StartedTestContainer } from 'testcontainers';
import { freePorts } from './free-port.js';
import { ManagedServiceHandle } from './managed-service-handle.js';
import { trackHandle, untrackHandle } from './registry.js';
import type { ServiceHandle, ServiceKind } from './service-handle.js';
import { waitFor } from './wait-for.js';

type DockerContainer = ReturnType<ContainerRuntimeClient['container']['getById']>;

export interface ContainerServiceSpec<Ports> {
  kind: ServiceKind;
  /** Ports inside the container, published on host ports of the same count. */
  containerPorts: number[];
  ports(hostPorts: number[]): Ports;
  /**
   * The container to start, for the given host and port. Host ports are bound explicitly
   * (`{ container, host }`) rather than left to Docker, because Docker picks new random host ports
   * on a container restart and the handle's URL must survive restart().
   */
  build(host: string, ports: Ports, bindings: { container: number; host: number }[]): GenericContainer;
  url(host: string, ports: Ports): string;
  isReady(host: string, ports: Ports): Promise<boolean>;
}

const STOP_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

class ContainerServiceHandle<Ports> extends ManagedServiceHandle<Ports> {
  readonly source = 'container' as const;
  readonly #container: StartedTestContainer;
  readonly #docker: DockerContainer;
  readonly #waitUntilReady: () => Promise<void>;
  #paused = false;

  constructor(
    kind: ServiceKind,
    url: string,
    ports: Ports,
    container: StartedTestContainer,
    docker: DockerContainer,
    waitUntilReady: () => Promise<void>,
  ) {
    super(kind, url, ports);
    this.#container = container;
    this.#docker = docker;
    this.#waitUntilReady = waitUntilReady;
  }

  async suspend(): Promise<void> {
    await this.#docker.pause();
    this.#paused = true;
  }

  async resume(): Promise<void> {
    if (!this.#paused) return;
    await this.#docker.unpause();
    this.#paused = false;
  }

  protected async shutDown(): Promise<void> {
    try {
      await this.resume();
      await this.#container.stop({ timeout: STOP_TIMEOUT_MS });
    } finally {
      untrackHandle(this);
    }
  }

  protected async startAgain(): Promise<void> {
    await this.resume();
    // `docker restart` also starts a container that kill() left exited; the filesystem, and so
    // the server's data dir, is kept.
    await this.#container.restart({ timeout: STOP_TIMEOUT_MS });
    await this.#waitUntilReady();
  }

  protected async killNow(): Promise<void> {
    // Docker refuses to kill a paused container.
    await this.resume();
    try {
      await this.#docker.kill({ signal: 'SIGKILL' });
    } catch (error) {
      // 409: not running (already killed); anything else is real
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
    await this.#docker.wait();
  }
}

/** Starts the container on free host ports, waits for the protocol-level readiness check, wraps it. */
export async function startContainerService<Ports>(
  spec: ContainerServiceSpec<Ports>,
  runtime: ContainerRuntimeClient,
  startupTimeoutMs: number,
): Promise<ServiceHandle & { readonly ports: Ports }> {
  const runtimeHost = runtime.info.containerRuntime.host;
  // 'localhost' may resolve to ::1 first; Docker publishes on both, 127.0.0.1 matches the binary path.
  const host = runtimeHost === 'localhost' ? '127.0.0.1' : runtimeHost;
  for (let attempt = 1; ; attempt++) {
    const hostPorts = await freePorts(spec.containerPorts.length);
    const ports = spec.ports(hostPorts);
    const bindings = spec.containerPorts.map((containerPort, i) => ({
      container: containerPort,
      host: hostPorts[i] as number,
    }));
    let container: StartedTestContainer;
    try {
      container = await spec.build(host, ports, bindings).withStartupTimeout(startupTimeoutMs).start();
    } catch (error) {
      const portTaken = /already allocated|address already in use/i.test(String((error as Error).message));
      if (portTaken && attempt < START_ATTEMPTS) continue;
      throw error;
    }
    const waitUntilReady = () =>
      waitFor(() => spec.isReady(host, ports).catch(() => false), {
        timeoutMs: startupTimeoutMs,
        description: `${spec.kind} container ${container.getId().slice(0, 12)} to become ready`,
      }).then(() => undefined);
    try {
      await waitUntilReady();
    } catch (error) {
      await container.stop().catch(() => undefined);
      throw error;
    }
    const docker = runtime.container.getById(container.getId());
    const handle = new ContainerServiceHandle(
      spec.kind,
      spec.url(host, ports),
      ports,
      container,
      docker,
      waitUntilReady,
    );
    trackHandle(handle);
    return handle;
  }
}
