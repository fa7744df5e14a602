// A user's own backend, run through the conformance suite as published. The backend delegates to
// the published memory backend through the published DelegatingBackend (`@roster/core/spi`): what
// is tested here is the packaging (the suite loads from the tarball, its vitest peer resolves, the
// SPI and its toolkit load and compile), not memory's behaviour.
import { createDiscovery } from '@roster/core';
import { captureLogger, describeConformance, freshNamespace, open } from '@roster/core/conformance';
import { DelegatingBackend } from '@roster/core/spi';
import { createMemoryStore, memoryBackend } from '@roster/memory';
import { expect, it } from 'vitest';

class WrappedBackend extends DelegatingBackend {
  override get name() {
    return 'wrapped-memory';
  }
}

const store = createMemoryStore();
describeConformance({
  name: 'wrapped-memory',
  createBackend: ({ namespace }) => new WrappedBackend(memoryBackend({ store, namespace })),
});

it('register through the published test kit: fresh namespace, captured logger, self-closing open', async () => {
  const backend = new WrappedBackend(memoryBackend({ store, namespace: freshNamespace('kit') }));
  expect(typeof backend.inspect).toBe('function'); // the wrapper keeps memory's inspect()
  const logger = captureLogger();
  const discovery = await open(() => createDiscovery({ backend, ttl: 1_000, logger }));
  await discovery.register({ id: 'kit-1' });
  expect(discovery.get('kit-1')?.id).toBe('kit-1');
  expect(logger.warnings).toEqual([]);
});
