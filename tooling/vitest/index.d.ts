import type { ViteUserConfig } from 'vitest/config';

/** The shared vitest settings, merged with a package's own. */
export function rosterVitestConfig(overrides?: ViteUserConfig): ViteUserConfig;
