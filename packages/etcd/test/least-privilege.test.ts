import { describeLeastPrivilege, freshNamespace, startEtcd } from '@roster/test-services';
import { Etcd3 } from 'etcd3';
import { afterAll, expect, onTestFinished } from 'vitest';
import { etcdBackend } from '../src/index.js';

// The least-privilege user of the README ("Security"): a role with readwrite on one namespace's
// prefix (`roster/<ns>/`) and nothing else; leases need no permission. The setup below is the
// README's etcdctl commands, made through etcd3's auth API (etcdctl is not installed here).

const TTL = 2_000;
const namespace = freshNamespace('lp');
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

describeLeastPrivilege({
  title: 'etcd: a user whose role covers one namespace',
  namespace,
  ttl: TTL,
  backend: (ns, password = APP.password) =>
    etcdBackend({ hosts: server.url, namespace: ns, auth: { ...APP, password } }),
  // Its lease runs out and the node expires within the ttl and a margin.
  expiryWait: TTL + 5_000,
  elsewhere: {
    title: 'naming the grant it needs, nothing written',
    message: /denied permission.*readwrite/,
    nothingWritten: async (other) => {
      const root = new Etcd3({ hosts: server.url, auth: ROOT });
      onTestFinished(() => root.close());
      expect(await root.getAll().prefix(`roster/${other}/`).keys()).toEqual([]);
    },
  },
  wrongPassword: /(rejected|refused) the credentials/,
});
