// Slow: each case starts a three-member JetStream cluster (~1-2 s) and the failover waits for an
// election; the file takes ~15 s on an idle machine.
import { describe, expect, it } from 'vitest';
import { startNatsCluster, waitFor } from '../src/index.js';
import { useServerBinaries } from './support/binary-mode.js';
import { isRefused, natsPing, natsRequest } from './support/raw-protocols.js';

useServerBinaries();

interface PubAck {
  stream?: string;
  seq?: number;
  error?: { description: string };
}

/** Publishes through the JetStream API on `url`, retrying while the stream has no leader yet. */
async function publish(url: string, subject: string, payload: string): Promise<PubAck> {
  return waitFor(
    async () => {
      const ack = JSON.parse(await natsRequest(url, subject, payload, 2_000).catch(() => '{}')) as PubAck;
      return ack.seq !== undefined ? ack : undefined;
    },
    { timeoutMs: 15_000, description: `a publish to ${subject} through ${url} to be acknowledged` },
  );
}

/** The payload of message `seq` of `stream`, read through `url` (base64 in the API answer). */
async function read(url: string, stream: string, seq: number): Promise<string> {
  const answer = JSON.parse(
    await natsRequest(url, `$JS.API.STREAM.MSG.GET.${stream}`, JSON.stringify({ seq })),
  ) as { message?: { data?: string } };
  return Buffer.from(answer.message?.data ?? '', 'base64').toString('utf8');
}

async function createStream(url: string, name: string): Promise<void> {
  const created = JSON.parse(
    await natsRequest(
      url,
      `$JS.API.STREAM.CREATE.${name}`,
      JSON.stringify({ name, subjects: [`${name.toLowerCase()}.>`], storage: 'file', num_replicas: 3 }),
      10_000,
    ),
  ) as { config?: { num_replicas?: number }; error?: unknown };
  expect(created).toMatchObject({ config: { num_replicas: 3 } });
}

describe('startNatsCluster (binary, slow)', () => {
  it('starts three routed JetStream servers; a replicated stream written through one is read through another', async () => {
    const cluster = await startNatsCluster({ size: 3 });
    expect(cluster).toMatchObject({ kind: 'nats', source: 'binary', size: 3 });
    expect(cluster.urls).toHaveLength(3);
    expect(cluster.url).toBe(cluster.urls.join(','));
    for (const url of cluster.urls) expect(await natsPing(url)).toMatchObject({ jetstream: true });
    expect(await cluster.leader()).toBeTypeOf('number');

    await createStream(cluster.urls[0] as string, 'ORDERS');
    expect(await publish(cluster.urls[1] as string, 'orders.1', 'hello')).toMatchObject({
      stream: 'ORDERS',
      seq: 1,
    });
    expect(await read(cluster.urls[2] as string, 'ORDERS', 1)).toBe('hello');
    expect(await cluster.leader('ORDERS')).toBeTypeOf('number');
    expect(await cluster.leader('NO_SUCH_STREAM')).toBeUndefined();
    expect(() => cluster.member(3)).toThrow(RangeError);
    await expect(cluster.failover({ stream: 'NO_SUCH_STREAM' })).rejects.toThrow(
      /stream NO_SUCH_STREAM has no leader/,
    );

    await cluster.stop();
    for (const url of cluster.urls) expect(await isRefused(url)).toBe(true);
  });

  it('failover kills the stream leader, another member takes over, writes work, the old one rejoins', async () => {
    const cluster = await startNatsCluster({ size: 3 });
    await createStream(cluster.urls[0] as string, 'EVENTS');
    await publish(cluster.urls[0] as string, 'events.1', 'before');
    const leaderBefore = await cluster.leader('EVENTS');

    const report = await cluster.failover({ stream: 'EVENTS' });
    expect(report.killed).toBe(leaderBefore);
    expect(report.elected).not.toBe(report.killed);
    expect(report.recoveredAfterMs).toBeGreaterThanOrEqual(report.electedAfterMs);
    console.info(`nats cluster failover: ${JSON.stringify(report)}`);

    const killedUrl = cluster.urls[report.killed] as string;
    expect(await natsPing(killedUrl)).toMatchObject({ jetstream: true });
    expect(await publish(killedUrl, 'events.2', 'after')).toMatchObject({ stream: 'EVENTS', seq: 2 });
    for (const url of cluster.urls) expect(await read(url, 'EVENTS', 1)).toBe('before');
    await cluster.stop();
  });

  it('failover without a stream kills the meta leader; the JetStream API works again afterwards', async () => {
    const cluster = await startNatsCluster({ size: 3 });
    const metaBefore = await cluster.leader();
    const report = await cluster.failover();
    expect(report.killed).toBe(metaBefore);
    expect(await cluster.leader()).not.toBe(undefined);
    await createStream(cluster.urls[report.killed] as string, 'AFTER');
    expect(await publish(cluster.urls[report.elected] as string, 'after.1', 'x')).toMatchObject({ seq: 1 });
    await cluster.stop();
  });

  it('isolate freezes one member for the given time while the others keep serving', async () => {
    const cluster = await startNatsCluster({ size: 3 });
    const isolated = cluster.isolate(1, 1_000);
    await expect(natsPing(cluster.urls[1] as string, { timeoutMs: 300 })).rejects.toThrow(/timeout/);
    await expect(natsPing(cluster.urls[0] as string, { timeoutMs: 1_000 })).resolves.toMatchObject({
      jetstream: true,
    });
    await isolated;
    await expect(natsPing(cluster.urls[1] as string, { timeoutMs: 1_000 })).resolves.toMatchObject({
      jetstream: true,
    });
    await cluster.waitUntilHealthy(10_000);
    await cluster.stop();
  });
});
