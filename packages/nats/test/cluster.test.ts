// The NATS backend on a 3-node JetStream cluster with replicated buckets (issue 12): several
// servers, `replicas: 3`, and reads that confirm an expiry go through the stream leader.
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { createDiscovery, type NodeDiscovery, silentLogger } from '@roster/core';
import { Recorder, waitFor as until } from '@roster/core/conformance';
import {
  freshNamespace,
  type NatsClusterHandle,
  open as openForTest,
  startNatsCluster,
} from '@roster/test-services';
import { afterAll, describe, expect, it } from 'vitest';
import { natsBackend } from '../src/index.js';

const cluster: NatsClusterHandle = await startNatsCluster({ size: 3 });
afterAll(() => cluster.stop());

const TTL = 2_000;
/** The failover case: a stream election plus a publish stuck for the request timeout fit in it. */
const FAILOVER_TTL = 10_000;
const GRACE = Math.max(1_000, TTL / 4);
/** A discovery on the cluster (or on `servers`), closed when the test ends. */
function open(namespace: string, servers: string[] = [...cluster.urls], ttl = TTL): Promise<NodeDiscovery> {
  return openForTest(() =>
    createDiscovery({ backend: natsBackend({ servers, namespace, replicas: 3 }), ttl }),
  );
}

describe('nats backend on a 3-node cluster (replicas 3)', () => {
  it('creates the buckets with 3 replicas; get() is a STREAM.MSG.GET (stream leader), never a direct get', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('cl_leader_');
    const backend = natsBackend({ servers: [...cluster.urls], namespace: ns, replicas: 3 });
    onTestFinished(() => backend.close());
    await backend.open({ ttl: TTL, logger: silentLogger });
    const nc = await connect({ servers: [...cluster.urls] });
    onTestFinished(() => nc.close());
    const status = await (await new Kvm(nc).open(`roster_${ns}`)).status();
    expect(status.replicas).toBe(3);
    // A plain subscriber sees every request the JetStream API gets on these subjects.
    const stream = `KV_roster_${ns}`;
    const seen = { direct: 0, leader: 0 };
    const direct = nc.subscribe(`$JS.API.DIRECT.GET.${stream}.>`, { callback: () => void seen.direct++ });
    const directPlain = nc.subscribe(`$JS.API.DIRECT.GET.${stream}`, { callback: () => void seen.direct++ });
    const leader = nc.subscribe(`$JS.API.STREAM.MSG.GET.${stream}`, { callback: () => void seen.leader++ });
    onTestFinished(async () => {
      direct.unsubscribe();
      directPlain.unsubscribe();
      leader.unsubscribe();
    });
    await nc.flush();
    const put = await backend.put('cl-1', new TextEncoder().encode('{"v":1}'));
    expect(put.ok).toBe(true);
    const entry = await backend.get('cl-1');
    expect(entry?.revision).toBe(put.ok ? put.revision : -1);
    expect(await backend.get('cl-absent')).toBeUndefined();
    await until('the subscriber to see both reads', () => seen.leader >= 2);
    expect(seen.direct, 'get() used a direct get, which a lagging replica may answer').toBe(0);
  });

  it('a watcher on another member sees joins, and a silent owner is left expired within [ttl, ttl + grace]', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('cl_expiry_');
    // Each instance starts on a different member: the connection lists all, in a different order.
    const urls = [...cluster.urls];
    const owner = await open(ns, urls);
    const watcher = await open(ns, [...urls.slice(1), urls[0] as string]);
    const watched = new Recorder(watcher);
    onTestFinished(async () => watched.stop());
    await owner.register({ id: 'cl-node' });
    await watched.joined('cl-node');
    await owner.heartbeat('cl-node');
    const lastBeat = owner.get('cl-node')?.lastSeen ?? 0;
    await owner.close({ unregister: false });
    const left = await watched.left('cl-node', TTL + GRACE + 5_000);
    expect(left.event).toMatchObject({ reason: 'expired' });
    expect(left.at - lastBeat).toBeGreaterThanOrEqual(TTL);
    expect(left.at - lastBeat).toBeLessThanOrEqual(TTL + GRACE);
  }, 30_000);

  it('the stream leader killed: owned nodes survive, and a later registration reaches the watcher', async ({
    onTestFinished,
  }) => {
    const ns = freshNamespace('cl_failover_');
    const owner = await open(ns, [...cluster.urls], FAILOVER_TTL);
    // The watcher stays connected through the failover (to a member that does not lead the
    // stream), so its feed's consumer, which lived on the leader, dies without a disconnect.
    const leader = await until('the stream to have a leader', () =>
      cluster.leader(`KV_roster_${ns}`).then((i) => (i === undefined ? false : i)),
    );
    const watcher = await open(ns, [cluster.urls[(leader + 1) % cluster.size] as string], FAILOVER_TTL);
    const watched = new Recorder(watcher);
    onTestFinished(async () => watched.stop());
    const first = await owner.register({ id: 'fo-1' });
    await watched.joined('fo-1');
    await cluster.failover({ stream: `KV_roster_${ns}` });
    await until(
      'fo-2 registered after the failover',
      async () => {
        try {
          await owner.register({ id: 'fo-2' });
          return true;
        } catch {
          return false;
        }
      },
      20_000,
    );
    // The watcher re-lists at the leader-elected advisory (the stream check's two rounds, 2 × 5 s, are the
    // fallback): well inside ttl + 2 s either way.
    await watched.joined('fo-2', FAILOVER_TTL + 2_000);
    // fo-1 was owned and heartbeated throughout: same registration at both instances, never lost.
    await until('fo-1 at the watcher', () => watcher.get('fo-1'));
    expect(owner.get('fo-1')?.instanceId).toBe(first.instanceId);
    expect(watched.of('fo-1').filter((e) => e.type === 'left')).toEqual([]);
  }, 60_000);
});
