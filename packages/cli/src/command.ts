import type { DiscoveryBackend, NodeDiscovery, NodeFilter } from '@roster/core';
import type { OptionSpecs, ParsedArgs } from './argv.js';
import type { BackendTarget } from './backend-url.js';
import type { Progress } from './progress.js';
import type { ReadOnlyOptions } from './read-only-connect.js';
import type { Terminal } from './terminal.js';

/** What `connect()` may override for one discovery instance. */
export interface ConnectOptions {
  /** Default: `--ttl`, else `ROSTER_TTL`, else core's default (10 s). */
  ttl?: number;
  /** Default: `--namespace`, else the URL's `?namespace=`, else `default`. */
  namespace?: string;
  /** Passed to createDiscovery (the demo crashes nodes on purpose and must not see them re-registered). */
  reregister?: boolean;
  onOwnNodeLost?: Parameters<typeof import('@roster/core').createDiscovery>[0]['onOwnNodeLost'];
  /** A backend the caller made (and inspected) to open, instead of a new one (`connect()` only). */
  backend?: DiscoveryBackend;
}

/** Everything a command gets: its arguments, the terminal, and a way to reach the backend. */
export interface CommandContext {
  readonly args: ParsedArgs;
  readonly out: Terminal;
  readonly err: Terminal;
  readonly env: Record<string, string | undefined>;
  /** `--json`: NDJSON on stdout, nothing else there. */
  readonly json: boolean;
  /** Aborted by the first Ctrl-C (SIGINT) or SIGTERM. */
  readonly interrupt: AbortSignal;
  readonly progress: Progress;
  now(): number;
  /** The backend URL, parsed (from `--url`, else `ROSTER_URL`, else `memory:`). */
  target(): BackendTarget;
  /** The TTL in ms that backends are opened with: `--ttl`, else `ROSTER_TTL`, else core's default. */
  ttl(options?: ConnectOptions): number;
  /** The namespace in use, for messages. */
  namespace(options?: ConnectOptions): string;
  /** Opens a discovery instance; closed for the command if it throws, and at exit if still open. */
  connect(options?: ConnectOptions): Promise<NodeDiscovery>;
  /**
   * For the read-only commands (`ls`, `get`, `watch`, `history`): opens the namespace only if it
   * exists, with its own ttl (`--ttl` is only compared), never creating it. Resolves undefined
   * for an absent namespace (see read-only-connect.ts).
   */
  connectReadOnly(options?: ReadOnlyOptions): Promise<NodeDiscovery | undefined>;
  /**
   * Opens a raw backend (no discovery instance) for `url`, e.g. both ends of `migrate`; closed
   * at exit. The namespace defaults to `--namespace`, else the URL's, else `default`.
   */
  openBackend(url: string, options?: ConnectOptions): Promise<DiscoveryBackend>;
  /** `--filter k=v …` as a NodeFilter (undefined when none). */
  filter(): NodeFilter | undefined;
}

/** One subcommand of `roster`, one per file under commands/. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** `roster ls [--filter k=v ...] [--json]` */
  readonly usage: string;
  /** A paragraph for `--help`, when the summary is not enough. */
  readonly description?: string;
  readonly options: OptionSpecs;
  /** How many positional arguments it takes (default 0); more is a usage error. */
  readonly arguments?: number;
  /** Shown under `Examples` in `--help`, each a full command line. */
  readonly examples: readonly string[];
  /**
   * The command stores nodes (register, demo, migrate …). Warnings about the store's durability
   * (a Redis without AOF or RDB) concern only such commands; the others show them with --verbose.
   */
  readonly writes?: boolean;
  /** Returns the exit code (0 when omitted). */
  run(context: CommandContext): Promise<number | undefined>;
}
