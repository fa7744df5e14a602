import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BinarySpec, findBinary } from './binary-lookup.js';
import { freePorts, isPortFree } from './free-port.js';
import { ManagedServiceHandle } from './managed-service-handle.js';
import { AddressInUseError, ProcessServer } from './process-server.js';
import { trackHandle, trackTempDir, untrackHandle, untrackTempDir } from './registry.js';
import type { CommonStartOptions, ServiceHandle, ServiceKind } from './service-handle.js';
import { waitFor } from './wait-for.js';

export interface BinaryServiceSpec<Ports> {
  kind: ServiceKind;
  binary: BinarySpec;
  /** How many loopback ports the server needs. */
  portCount: number;
  /** Names the ports, e.g. `([client, monitor]) => ({ client, monitor })`. */
  ports(free: number[]): Ports;
  /** Command line for the given ports; `dataDir` exists and is empty on first start; `tempDir` is its parent. */
  args(ports: Ports, dataDir: string, tempDir: string): string[];
  url(ports: Ports): string;
  /** Protocol-level readiness check. */
  isReady(ports: Ports): Promise<boolean>;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 20_000;
const START_ATTEMPTS = 3;

/** A server binary we spawned: owns its process, ports, temp dir and log file. */
export class BinaryServiceHandle<Ports> extends ManagedServiceHandle<Ports> {
  readonly source = 'binary' as const;
  readonly #server: ProcessServer;
  readonly #tempDir: string;
  readonly #allPorts: number[];

  constructor(
    kind: ServiceKind,
    url: string,
    ports: Ports,
    allPorts: number[],
    server: ProcessServer,
    tempDir: string,
  ) {
    super(kind, url, ports);
    this.#allPorts = allPorts;
    this.#server = server;
    this.#tempDir = tempDir;
  }

  /** What the server wrote to its log since its latest start (for diagnostics in errors). */
  logTail(): string {
    return this.#server.logTail();
  }

  async suspend(): Promise<void> {
    this.#server.suspend();
  }

  async resume(): Promise<void> {
    this.#server.resume();
  }

  protected async shutDown(): Promise<void> {
    try {
      await this.#server.stop();
    } finally {
      rmSync(this.#tempDir, { recursive: true, force: true });
      untrackTempDir(this.#tempDir);
      untrackHandle(this);
    }
  }

  protected async startAgain(): Promise<void> {
    await this.#server.stop();
    await startOnSamePorts(this.#server, this.#allPorts);
  }

  protected async killNow(): Promise<void> {
    await this.#server.kill();
  }
}

/** After a stop the old listener may linger for a moment; wait for the ports and try again. */
async function startOnSamePorts(server: ProcessServer, ports: number[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await server.start();
      return;
    } catch (error) {
      if (!(error instanceof AddressInUseError) || attempt >= START_ATTEMPTS) throw error;
      await waitFor(async () => (await Promise.all(ports.map((port) => isPortFree(port)))).every(Boolean), {
        timeoutMs: 10_000,
        description: `ports ${ports.join(', ')} to be free again`,
      }).catch(() => undefined);
    }
  }
}

/**
 * Finds the binary, makes a temp dir (`roster-<kind>-*` under the OS temp dir, with `data/` and
 * `server.log`), picks free loopback ports and starts the server. Another process may grab a port
 * between our probe and the server's bind; then it retries with new ports.
 */
export async function startBinaryService<Ports>(
  spec: BinaryServiceSpec<Ports>,
  options: CommonStartOptions = {},
): Promise<ServiceHandle & { readonly ports: Ports }> {
  const binary = findBinary(spec.binary, options.searchPath);
  const startupTimeoutMs = options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  const tempDir = mkdtempSync(join(tmpdir(), `roster-${spec.kind}-`));
  trackTempDir(tempDir);
  const dataDir = join(tempDir, 'data');
  const logFile = join(tempDir, 'server.log');

  for (let attempt = 1; ; attempt++) {
    // A failed attempt may have left files behind; the server must find an empty data dir.
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir);
    const allPorts = await freePorts(spec.portCount);
    const ports = spec.ports(allPorts);
    const server = new ProcessServer({
      label: `${spec.kind} (${spec.binary.name})`,
      binary,
      args: spec.args(ports, dataDir, tempDir),
      cwd: tempDir,
      logFile,
      isReady: () => spec.isReady(ports),
      startupTimeoutMs,
    });
    try {
      await server.start();
    } catch (error) {
      if (error instanceof AddressInUseError && attempt < START_ATTEMPTS) continue;
      rmSync(tempDir, { recursive: true, force: true });
      untrackTempDir(tempDir);
      throw error;
    }
    const handle = new BinaryServiceHandle(spec.kind, spec.url(ports), ports, allPorts, server, tempDir);
    trackHandle(handle);
    return handle;
  }
}

export interface BinaryMemberSpec<Ports> {
  kind: ServiceKind;
  /** For messages and the temp dir name, e.g. `nats-1`. */
  name: string;
  /** Absolute path of the binary (see findBinary). */
  binary: string;
  ports: Ports;
  /** Every port the member binds, to wait for on restart. */
  allPorts: number[];
  /** Command line; `tempDir` holds `data/` (empty) and `server.log`, and whatever `prepare` wrote. */
  args(ports: Ports, dataDir: string, tempDir: string): string[];
  url: string;
  isReady(): Promise<boolean>;
  startupTimeoutMs: number;
  /** Writes config files into the fresh temp dir before the first start. */
  prepare?(tempDir: string, dataDir: string): void;
  /** Runs before every start, the first included. */
  beforeStart?(tempDir: string): Promise<void> | void;
}

/**
 * One member of a cluster, on ports the caller chose for the whole cluster (its peers must know
 * them before it starts). Unlike startBinaryService it does not retry on a taken port: the
 * AddressInUseError reaches the caller, who picks new ports for every member. The handle is not
 * tracked for stopAllServices (the cluster handle is); its temp dir is, for the exit hook.
 */
export async function startBinaryMember<Ports>(
  spec: BinaryMemberSpec<Ports>,
): Promise<BinaryServiceHandle<Ports>> {
  const tempDir = mkdtempSync(join(tmpdir(), `roster-${spec.name}-`));
  trackTempDir(tempDir);
  const dataDir = join(tempDir, 'data');
  mkdirSync(dataDir);
  const server = new ProcessServer({
    label: `${spec.name} (${spec.binary.split('/').pop()})`,
    binary: spec.binary,
    args: spec.args(spec.ports, dataDir, tempDir),
    cwd: tempDir,
    logFile: join(tempDir, 'server.log'),
    isReady: () => spec.isReady(),
    startupTimeoutMs: spec.startupTimeoutMs,
    ...(spec.beforeStart ? { beforeStart: () => spec.beforeStart?.(tempDir) } : {}),
  });
  try {
    spec.prepare?.(tempDir, dataDir);
    await server.start();
  } catch (error) {
    rmSync(tempDir, { recursive: true, force: true });
    untrackTempDir(tempDir);
    throw error;
  }
  return new BinaryServiceHandle(spec.kind, spec.url, spec.ports, spec.allPorts, server, tempDir);
}
