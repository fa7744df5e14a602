import { mirrorBackend } from '@roster/core';
import { describeConformance } from '@roster/core/conformance';
import { createMemoryStore, memoryBackend } from '../src/index.js';

// The mirror over two memory stores passes the whole suite, faults on the primary included.
const primary = createMemoryStore();
const secondary = createMemoryStore();
describeConformance({
  name: 'mirror (memory → memory)',
  createBackend: ({ namespace }) =>
    mirrorBackend({
      primary: memoryBackend({ store: primary, namespace }),
      secondary: memoryBackend({ store: secondary, namespace }),
    }),
  faults: { restart: () => primary.faults.restart(1_500), pause: (ms) => primary.faults.pause(ms) },
});
