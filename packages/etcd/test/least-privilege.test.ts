import { BackendAuthError, createDiscovery, type DiscoveryOptions, type NodeDiscovery } from '@roster/core';
import { Recorder, waitFor as until } from '@roster/core/conformance';
import { startEtcd } from '@roster/test-services';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { etcdBackend } from '../src/index.js';

// The least-privilege user of the README ("Security"): a role with readwrite on one namespace's
// prefix (`roster/<ns>/`) and nothing else; leases need no permission. The setup below is the
// README's etcdctl commands, made through etcd3's auth API (etcdctl is not installed here).

const TTL = 2_000;
const namespace = `lp${Date.now().toString(36)}`;
const ROOT = { username: 'root', password: 'root-secret' };
const APP = { username: 'roster-app', password: 'app-secret' };

const server = await startEtcd();
afterAll(() => server.stop());
{
  const setup = new Etcd3({ hosts: server.url });
  try {
    await setup.role('root').create();
    await setup.user(ROOT.username).create(ROOT.password);
    await setup.user(ROOT.username).addRole('root');
    await setup.role('roster-app').create();
    await setup
      .role('roster-app')
      .grant({ permission: 'Readwrite', range: setup.range({ prefix: `roster/${namespace}/` }) });
    await setup.user(APP.username).create(APP.password);
    await setup.user(APP.username).addRole('roster-app');
    await setup.auth.authEnable();
  } finally {
    setup.close();
  }
}

async function open(ns: string, options: Partial<DiscoveryOptions> = {}, auth = APP) {
  const discovery: NodeDiscovery = await createDiscovery({
    backend: etcdBackend({ hosts: server.url, namespace: ns, auth }),
    ttl: TTL,
    ...options,
  });
  onTestFinished(() => discovery.close({ unregister: false }).catch(() => {}));
  return discovery;
}

describe('etcd: a user whose role covers one namespace', () => {
  it('registers, is seen joining, heartbeats, expires, unregisters and reads history on its namespace', async () => {
    const owner = await open(namespace);
    const watcher = await open(namespace);
    // An owner that never heartbeats: its lease runs out and the node expires.
    const silent = await open(namespace, { autoHeartbeat: false, reregister: false });
    const seen = new Recorder(watcher);
    onTestFinished(() => seen.done);

    await owner.register({ id: 'lp-1', load: 0 });
    await seen.joined('lp-1');
    await owner.heartbeat('lp-1');
    await owner.heartbeat('lp-1', 2);
    await until('the load change at the watcher', () => watcher.get('lp-1')?.load === 2);
    await silent.register({ id: 'lp-2' });
    await seen.next(
      'lp-2 expired',
      (e) => e.type === 'left' && e.node.id === 'lp-2' && e.reason === 'expired',
      0,
      TTL + 5_000,
    );
    expect((await owner.history('lp-1')).map((n) => n.load)).toEqual([2, 0]);
    await owner.unregister('lp-1');
    await seen.left('lp-1');
    await Promise.all([owner.close(), watcher.close(), silent.close()]);
    expect(seen.summary()).toEqual([
      'joined:lp-1',
      'updated:lp-1',
      'joined:lp-2',
      'left:lp-2:expired',
      'left:lp-1:unregistered',
    ]);
  }, 60_000);

  it('the same user on another namespace is refused: BackendAuthError naming the grant it needs, nothing written', async () => {
    const other = `${namespace}x`;
    const error = await open(other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    expect((error as Error).message).toMatch(/denied permission.*readwrite/);
    expect((error as Error).message).not.toMatch(/is the server running|unavailable/i);
    const root = new Etcd3({ hosts: server.url, auth: ROOT });
    onTestFinished(() => root.close());
    expect(await root.getAll().prefix(`roster/${other}/`).keys()).toEqual([]);
  });

  it('a wrong password is ERR_BACKEND_AUTH at once, not an outage', async () => {
    const started = Date.now();
    const error = await open(namespace, {}, { ...APP, password: 'not-the-password' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendAuthError);
    expect(error).toMatchObject({ code: 'ERR_BACKEND_AUTH' });
    expect((error as Error).message).toMatch(/(rejected|refused) the credentials/);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
