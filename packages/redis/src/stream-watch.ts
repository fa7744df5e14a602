// watch() on Redis: blocking reads of the change stream on a connection of its own, resync on any gap.
import type { Logger } from '@roster/core';
import type { BackendChange, BackendWatch } from '@roster/core/spi';
import type { Cluster, Redis } from 'ioredis';
import { isPermissionDenied } from './redis-errors.js';
import type { StreamCursor } from './stream-cursor.js';

/** How a {@link StreamWatch} reads the change stream. */
export interface StreamWatchOptions {
  /** A fresh connection of its own (lazy, no reconnect): XREAD BLOCK must not hold up other commands. */
  readonly connect: () => Redis | Cluster;
  readonly stream: string;
  readonly cursor: StreamCursor;
  readonly logger: Logger;
  /** BLOCK of each XREAD, ms. */
  readonly blockMs: number;
  /** How long past `blockMs` a read may hang before the connection is presumed dead. */
  readonly stallGraceMs: number;
  /** How long connecting may take (a frozen server accepts the socket but never answers). */
  readonly connectTimeoutMs: number;
  readonly onStop: () => void;
  /** The server refused the read itself (an ACL without `XREAD`): the watch then ends with `resync`. */
  readonly onRefused?: (error: unknown) => void;
}

const BATCH = 1_000;

/**
 * Tails the change stream from a cursor with `XREAD BLOCK` on its own connection. Continuity is
 * proven, not assumed: every entry must carry the revision after the previous one. A gap (the
 * stream was trimmed past the cursor, or replaced by a server that lost its data), a dropped
 * connection or a stalled read ends the watch with `resync`, because what happened meanwhile
 * cannot be known; core then lists again and opens a new watch.
 */
export class StreamWatch implements BackendWatch {
  private stopped = false;
  private readonly connection: Redis | Cluster;
  private readonly running: Promise<void>;
  /** Settles every pending wait of run() at stop(): ioredis' Cluster#connect() never settles when
   * disconnect() lands while it connects (seen in 13 of 48 tries), which held close() for ~5 s. */
  private abandon: () => void = () => {};
  private readonly abandoned = new Promise<never>((_, reject) => {
    this.abandon = () => reject(new Error('the watch was stopped'));
  });

  constructor(
    private readonly options: StreamWatchOptions,
    private readonly onChange: (change: BackendChange) => void,
  ) {
    this.connection = options.connect();
    // The connection is ours and never retried; its errors surface as rejected reads.
    this.connection.on('error', () => {});
    this.abandoned.catch(() => {});
    this.running = this.run().catch((error) =>
      this.resync(`the change stream reader failed: ${messageOf(error)}`),
    );
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.abandon();
      this.connection.disconnect();
      this.options.onStop();
    }
    await this.running;
  }

  private async run(): Promise<void> {
    let { streamId, revision } = this.options.cursor;
    try {
      await this.watchdog(this.connection.connect(), this.options.connectTimeoutMs, 'connecting');
    } catch (error) {
      return this.resync(`could not open a connection to read the change stream: ${messageOf(error)}`);
    }
    while (!this.stopped) {
      let reply: Awaited<ReturnType<StreamWatch['read']>>;
      try {
        reply = await this.read(streamId);
      } catch (error) {
        if (isPermissionDenied(error)) {
          this.options.onRefused?.(error);
          return this.resync(`the server refused to read the change stream: ${messageOf(error)}`);
        }
        return this.resync(
          `the change stream connection was lost (${messageOf(error)}); continuity cannot be proven`,
        );
      }
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          if (this.stopped) return;
          streamId = id.toString();
          const change = parseEntry(fields);
          if (!change) {
            this.options.logger.warn(`skipped an entry of ${this.options.stream} that Roster did not write`, {
              streamId,
            });
            continue;
          }
          if (change.revision !== revision + 1)
            return this.resync(
              `the change stream went from revision ${revision} to ${change.revision}: entries were trimmed (MAXLEN) or the stream was replaced`,
            );
          revision = change.revision;
          this.deliver(change);
        }
      }
    }
  }

  /** One blocking read, raced against a watchdog: a frozen server or a dead socket never answers. */
  private read(streamId: string) {
    const { blockMs, stallGraceMs, stream } = this.options;
    return this.watchdog(
      this.connection.xreadBuffer('COUNT', BATCH, 'BLOCK', blockMs, 'STREAMS', stream, streamId) as Promise<
        [Buffer, [Buffer, Buffer[]][]][] | null
      >,
      blockMs + stallGraceMs,
      'a blocking read',
    );
  }

  private watchdog<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} got no answer within ${ms} ms`)), ms);
      Promise.race([work, this.abandoned])
        .then(resolve, reject)
        .finally(() => clearTimeout(timer));
    });
  }

  private deliver(change: BackendChange): void {
    if (this.stopped) return;
    try {
      this.onChange(change);
    } catch (error) {
      this.options.logger.error('a change listener threw', { error });
    }
  }

  private resync(reason: string): void {
    if (this.stopped) return;
    this.deliver({ type: 'resync', reason });
    this.stopped = true;
    this.connection.disconnect();
    this.options.onStop();
  }
}

/** A stream entry as written by the Lua scripts; undefined for anything else. */
export function parseEntry(fields: Buffer[]): Exclude<BackendChange, { type: 'resync' }> | undefined {
  let type: string | undefined;
  let key: string | undefined;
  let value: Buffer | undefined;
  let revision: number | undefined;
  let why: string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    const field = fields[i + 1]!;
    if (name === 't') type = field.toString();
    else if (name === 'k') key = field.toString();
    else if (name === 'v') value = field;
    else if (name === 'r') revision = Number(field.toString());
    else if (name === 'why') why = field.toString();
  }
  if (key === undefined || revision === undefined || !Number.isSafeInteger(revision)) return undefined;
  if (type === 'put' && value !== undefined)
    return {
      type: 'put',
      key,
      value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
      revision,
    };
  if (type === 'del')
    return why === 'expired' || why === 'unregistered'
      ? { type: 'delete', key, revision, reason: why }
      : { type: 'delete', key, revision };
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
