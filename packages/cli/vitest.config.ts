import { rosterVitestConfig } from '@roster/vitest-config';

// The end-to-end tests run the built `dist/bin.js` as a user would; global-setup rebuilds it when
// src is newer.
export default rosterVitestConfig({ test: { globalSetup: ['test/global-setup.ts'] } });
