// ESM: every published entry point loads, and the memory backend runs a register → list → close.

import * as cli from '@roster/cli';
import * as core from '@roster/core';
import * as spi from '@roster/core/spi';
import * as etcd from '@roster/etcd';
import { memoryBackend } from '@roster/memory';
import * as nats from '@roster/nats';
import * as redis from '@roster/redis';

const discovery = await core.createDiscovery({ backend: memoryBackend(), ttl: 1_000 });
await discovery.register({ id: 'smoke-1', metadata: { role: 'api' } });
const ids = discovery.list().map((n) => n.id);
await discovery.close();
console.log(
  JSON.stringify({
    ids,
    exports: {
      core: typeof core.createDiscovery,
      spi: typeof spi.backendErrorMapper,
      // The toolkit throws the same classes the main entry exports (one copy in the package).
      shared: closedErrorOf(spi) instanceof core.DiscoveryClosedError,
      cli: typeof cli.runCli,
      nats: typeof nats.natsBackend,
      redis: typeof redis.redisBackend,
      etcd: typeof etcd.etcdBackend,
    },
  }),
);

function closedErrorOf(toolkit) {
  try {
    new toolkit.BackendLifecycle('smoke').assertOpen();
  } catch (error) {
    return error;
  }
  return undefined;
}
