// The list read message by message (kv-leader-snapshot.ts, used while a cluster elects its meta
// leader) equals the consumer's list: the same entries at the same cursor, and a watch from that
// cursor misses nothing. Real single server; the election itself is in frozen-member.test.ts.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { encodeRecord } from '@roster/core';
import { waitFor } from '@roster/core/conformance';
import type { BackendChange } from '@roster/core/spi';
import { captureLogger, freshNamespace, type NatsServiceHandle, startNats } from '@roster/test-services';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketLayout } from '../src/bucket-layout.js';
import { natsBackend } from '../src/index.js';
import { readLeaderSnapshot } from '../src/kv-leader-snapshot.js';

const server: NatsServiceHandle = await startNats();
afterAll(() => server.stop());

const value = (id: string, load: number) =>
  encodeRecord({ id, metadata: {}, load, instanceId: `i-${id}`, registeredAt: 1, lastSeen: 1 });

describe('nats backend: a list without a consumer', () => {
  it('reads the same entries at the same cursor as list(), skips foreign keys, and a watch from its cursor misses nothing', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('nats_leader_');
    const layout = bucketLayout(ns);
    const logger = captureLogger();
    const backend = natsBackend({ servers: server.url, namespace: ns });
    onTestFinished(() => backend.close());
    await backend.open({ ttl: 30_000, logger });
    // Updates and deletes leave interior deletes in the stream, which the reader must step over.
    await backend.put('ls-a', value('ls-a', 1));
    await backend.put('ls-b', value('ls-b', 1));
    await backend.put('ls-a', value('ls-a', 2));
    await backend.put('ls-c', value('ls-c', 1));
    await backend.delete('ls-b');
    await backend.put('ls-d', value('ls-d', 1));
    await backend.put('ls-c', value('ls-c', 3));
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    // A key that is no node id, written by another tool: skipped and logged, as in list().
    await nc.request(`${layout.subjectPrefix}not~an~id`, 'foreign', { timeout: 5_000 });
    const jsm = await jetstreamManager(nc);

    const listed = await backend.list();
    const read = await readLeaderSnapshot(jsm, layout, logger);
    const plain = (entries: readonly { key: string; value: Uint8Array; revision: number }[]) =>
      entries
        .map((e) => `${e.key}@${e.revision}:${Buffer.from(e.value).toString('base64')}`)
        .sort()
        .join(' ');
    expect(plain(read.entries)).toBe(plain(listed.entries));
    expect(read.entries.map((e) => e.key).sort()).toEqual(['ls-a', 'ls-c', 'ls-d']);
    expect(read.cursor).toBe(listed.cursor);

    const changes: BackendChange[] = [];
    const feed = backend.watch(read.cursor, (change) => changes.push(change));
    onTestFinished(() => feed.stop());
    await backend.put('ls-e', value('ls-e', 1));
    await backend.delete('ls-a');
    await waitFor('the feed to deliver ls-e and the delete of ls-a', () => changes.length >= 2);
    expect(changes.map((c) => `${c.type}:${'key' in c ? c.key : ''}`)).toEqual(['put:ls-e', 'delete:ls-a']);
  }, 30_000);

  it('an empty bucket is no entries at the stream last sequence', async ({ onTestFinished }) => {
    const ns = freshNamespace('nats_leader_empty_');
    const logger = captureLogger();
    const backend = natsBackend({ servers: server.url, namespace: ns });
    onTestFinished(() => backend.close());
    await backend.open({ ttl: 30_000, logger });
    const nc = await connect({ servers: server.url });
    onTestFinished(() => nc.close());
    const read = await readLeaderSnapshot(await jetstreamManager(nc), bucketLayout(ns), logger);
    expect(read).toEqual({ entries: [], cursor: (await backend.list()).cursor });
  }, 30_000);
});
