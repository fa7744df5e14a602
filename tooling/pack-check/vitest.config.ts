import { rosterVitestConfig } from '@roster/vitest-config';

// Packing, installing and compiling take minutes on the 2-core CI machine.
export default rosterVitestConfig({ test: { testTimeout: 300_000, hookTimeout: 600_000 } });
