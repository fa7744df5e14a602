// The etcd requests the backend makes, each bounded by its deadline and failing as a Roster error.
import type { Logger } from '@roster/core';
import type { BackendEntry, BackendSnapshot } from '@roster/core/spi';
import type { Etcd3, ICompare, IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import { isCompacted, isLeaseNotFound, toBackendError } from './etcd-errors.js';
import { type KeyLayout, prefixEnd } from './key-layout.js';

/** Keys per range call of `list()`: keeps each answer well under grpc's 4 MiB message limit. */
const LIST_PAGE = 5_000;

/**
 * How much later than Roster's own deadline grpc gives up on a call. Every call already runs under
 * `withDeadline`, whose timer settles it at the deadline with the one "did not answer within N ms"
 * error (rule 14 of docs/guarantees.md); grpc's deadline only frees the call. Were both set to the
 * same instant, which of the two timers fired first would decide the error a caller sees.
 */
const GRPC_DEADLINE_SLACK_MS = 250;

/** The grpc deadline of a call whose Roster deadline is `deadline`. */
export function callOptions(deadline: number): { deadline: Date } {
  return { deadline: new Date(deadline + GRPC_DEADLINE_SLACK_MS) };
}

/** Compare: the key does not exist. */
export function absent(key: Buffer): ICompare {
  return { key, target: 'Create', result: 'Equal', create_revision: 0 };
}

/** Compare: the key was last written at `revision`. */
export function modifiedAt(key: Buffer, revision: number): ICompare {
  return { key, target: 'Mod', result: 'Equal', mod_revision: revision };
}

/**
 * Requests on the backend's client. Failures become `BackendUnavailableError` or
 * `BackendAuthError` naming the hosts, except the two a caller decides on itself: a lease not
 * found (it ran out between two calls) and a compacted revision.
 */
export class EtcdCalls {
  constructor(
    /** The client, or `DiscoveryClosedError` when the backend is not open. */
    private readonly client: () => Etcd3,
    private readonly layout: KeyLayout,
    private readonly hosts: string,
    private readonly logger: () => Logger,
  ) {}

  async txn(
    what: string,
    compare: ICompare[],
    success: IRequestOp[],
    deadline: number,
  ): Promise<ITxnResponse> {
    const client = this.client();
    try {
      return await client.kv.txn({ compare, success, failure: [] }, callOptions(deadline));
    } catch (error) {
      if (isLeaseNotFound(error)) throw error;
      throw toBackendError(error, what, this.hosts);
    }
  }

  async rangeOne(
    key: Buffer,
    deadline: number,
    options: { revision?: number; keysOnly?: boolean; serializable?: boolean } = {},
  ): Promise<IKeyValue | undefined> {
    const client = this.client();
    try {
      const response = await client.kv.range(
        {
          key,
          ...(options.revision === undefined ? {} : { revision: options.revision }),
          ...(options.keysOnly ? { keys_only: true } : {}),
          ...(options.serializable ? { serializable: true } : {}),
        },
        callOptions(deadline),
      );
      return response.kvs[0];
    } catch (error) {
      if (isCompacted(error)) throw error;
      throw toBackendError(error, `reading ${key.toString()}`, this.hosts);
    }
  }

  /** Reads the revision and lease (not the value) of several keys in one read-only transaction. */
  async readKeys(keys: Buffer[], deadline: number): Promise<(IKeyValue | undefined)[]> {
    const client = this.client();
    try {
      const response = await client.kv.txn(
        {
          compare: [],
          success: keys.map((key) => ({ request_range: { key, keys_only: true, serializable: true } })),
          failure: [],
        },
        callOptions(deadline),
      );
      return response.responses.map((r) => r.response_range?.kvs[0]);
    } catch (error) {
      throw toBackendError(error, 'reading the revisions of owned nodes', this.hosts);
    }
  }

  async grant(seconds: number, deadline: number): Promise<string> {
    const client = this.client();
    try {
      return (await client.leaseClient.leaseGrant({ TTL: seconds }, callOptions(deadline))).ID;
    } catch (error) {
      throw toBackendError(error, 'granting a lease', this.hosts);
    }
  }

  /** The version of history/<id> before `version`, or undefined at its start or at compaction. */
  async versionBefore(key: string, version: IKeyValue, deadline: number): Promise<IKeyValue | undefined> {
    const before = Number(version.mod_revision) - 1;
    if (before < 1) return undefined;
    try {
      return await this.rangeOne(this.layout.history(key), deadline, { revision: before });
    } catch (error) {
      if (isCompacted(error)) return undefined;
      throw error;
    }
  }

  /** Every node key of the namespace at one revision (page by page), and that revision as the cursor. */
  async listOnce(namespace: string, deadline: number): Promise<BackendSnapshot> {
    const client = this.client();
    const end = prefixEnd(this.layout.nodesPrefix);
    const entries: BackendEntry[] = [];
    let start = this.layout.nodesPrefix;
    let revision: string | undefined;
    for (;;) {
      let response: Awaited<ReturnType<Etcd3['kv']['range']>>;
      try {
        response = await client.kv.range(
          { key: start, range_end: end, limit: LIST_PAGE, ...(revision ? { revision } : {}) },
          callOptions(deadline),
        );
      } catch (error) {
        if (isCompacted(error)) throw error;
        throw toBackendError(error, `listing namespace "${namespace}"`, this.hosts);
      }
      revision ??= response.header.revision;
      for (const kv of response.kvs) {
        const parsed = this.layout.parse(kv.key);
        if (parsed?.kind === 'node')
          entries.push({
            key: parsed.id,
            value: new Uint8Array(kv.value),
            revision: Number(kv.mod_revision),
          });
        else
          this.logger().warn(
            `skipped etcd key "${kv.key.toString()}": the part after nodes/ is not a valid node id`,
            {
              key: kv.key.toString(),
            },
          );
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || !last) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { entries, cursor: revision };
  }
}

/** What a read of a node key found: the entry plus the lease it hangs on ('0' for none). */
export interface StoredNode extends BackendEntry {
  readonly lease: string;
}
