// The same line for etcd (auth: `auth: { username, password }`; TLS: `credentials`).
import { createDiscovery } from '@roster/core';
import { etcdBackend } from '@roster/etcd';

const discovery = await createDiscovery({
  backend: etcdBackend({ hosts: process.env.ETCD_URL ?? 'http://127.0.0.1:2379', namespace: 'shop' }),
  ttl: 10_000,
});
await discovery.register({ id: 'api-1', address: '10.0.0.5:8080', metadata: { role: 'api' } });
console.log(
  'members:',
  discovery
    .list()
    .map((node) => node.id)
    .join(','),
);
await discovery.close();
