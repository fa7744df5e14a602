import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core through `executablePath` (no browser download).
 * `ROSTER_CHROMIUM` points elsewhere. Missing locally: the UI tests are skipped with this message;
 * missing in CI (`CI=true`): they fail, since `.ci/run` installs it.
 */
export const CHROMIUM_PATH = process.env.ROSTER_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM_PATH);
export const MUST_HAVE_CHROMIUM = process.env.CI === 'true';
export const MISSING_CHROMIUM = `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium, or set ROSTER_CHROMIUM)`;

export function launchChromium(): Promise<Browser> {
  // We run as root in CI containers, where Chromium's sandbox cannot start.
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
    timeout: 30_000,
  });
}
