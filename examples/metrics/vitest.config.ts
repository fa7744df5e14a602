import { rosterVitestConfig } from '@roster/vitest-config';

export default rosterVitestConfig();
