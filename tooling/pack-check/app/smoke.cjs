// CommonJS: the same, with require().
const core = require('@roster/core');
const { memoryBackend } = require('@roster/memory');
const spi = require('@roster/core/spi');
const loaded = {
  core: typeof core.createDiscovery,
  spi: typeof spi.backendErrorMapper,
  // The toolkit throws the same classes the main entry exports (one copy in the package).
  shared: closedErrorOf(spi) instanceof core.DiscoveryClosedError,
  cli: typeof require('@roster/cli').runCli,
  nats: typeof require('@roster/nats').natsBackend,
  redis: typeof require('@roster/redis').redisBackend,
  etcd: typeof require('@roster/etcd').etcdBackend,
};
core.createDiscovery({ backend: memoryBackend(), ttl: 1_000 }).then(async (discovery) => {
  await discovery.register({ id: 'smoke-1' });
  const ids = discovery.list().map((n) => n.id);
  await discovery.close();
  console.log(JSON.stringify({ ids, exports: loaded }));
});

function closedErrorOf(toolkit) {
  try {
    new toolkit.BackendLifecycle('smoke').assertOpen();
  } catch (error) {
    return error;
  }
  return undefined;
}

// The conformance suite is ESM only (vitest cannot be required): the error must say so.
try {
  require('@roster/core/conformance');
  console.error('require of @roster/core/conformance did not throw');
  process.exitCode = 1;
} catch (error) {
  if (!/Vitest cannot be imported in a CommonJS module/.test(String(error))) throw error;
}
