import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAVE_CHROMIUM, launchChromium, MISSING_CHROMIUM, MUST_HAVE_CHROMIUM } from './ui/chromium.js';

// The dashboard served by the CLI run from its TypeScript source under tsx, as `pnpm demo` does.
// tsx's esbuild transform keeps function names by inserting `__name(...)` calls, and the page's
// script is the source text of functions (src/ui/page-script.ts): those calls end up in the page.

const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
const WAIT = 20_000;

/** `roster demo --url memory: --ui` from src/bin.ts under tsx; resolves with the dashboard's URL. */
function startDemoFromSource(): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/bin.ts', 'demo', '--url', 'memory:', '--ui'],
    {
      cwd: PACKAGE_ROOT,
      env: { ...process.env, NO_COLOR: '1', ROSTER_URL: '', BROWSER: 'none' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no dashboard URL within ${WAIT} ms\n${output}`)), WAIT);
    const collect = (chunk: string) => {
      output += chunk;
      const found = /Dashboard: (http:\/\/\S+\/)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', collect);
    child.stderr!.setEncoding('utf8').on('data', collect);
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`roster demo exited (${code}) before printing its URL\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

if (!HAVE_CHROMIUM && MUST_HAVE_CHROMIUM)
  describe('roster ui from source under tsx', () => {
    it('needs Chromium in CI', () => {
      throw new Error(`${MISSING_CHROMIUM}; .ci/run installs it when missing`);
    });
  });

describe.skipIf(!HAVE_CHROMIUM)('roster ui from source under tsx', () => {
  let browser: Browser;
  let demo: ReturnType<typeof startDemoFromSource>;

  beforeAll(async () => {
    demo = startDemoFromSource();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (demo && demo.child.exitCode === null) {
      const exited = new Promise((resolve) => demo.child.once('close', resolve));
      demo.child.kill('SIGINT');
      await exited;
    }
  });

  it('serves a page whose script runs: no ReferenceError from the transform’s __name helper', async () => {
    const url = await demo.url;
    // The case this test is about: the served script does carry the transform's helper calls.
    const script = await (await fetch(new URL('app.js', url))).text();
    expect(script).toMatch(/__name\(/);

    const page = await browser.newPage();
    const pageErrors: string[] = [];
    // An uncaught error (the ReferenceError this is about) fails the test at once, with its message.
    const failed = new Promise<never>((_, reject) =>
      page.on('pageerror', (error) => {
        pageErrors.push(error.message);
        reject(new Error(`uncaught error in the page: ${error.message}`));
      }),
    );
    failed.catch(() => {}); // reported through the race below, or by the last assertion
    page.setDefaultTimeout(WAIT);
    await page.goto(url);
    // The script ran to the end: it connected to the event stream and drew the demo's nodes.
    await Promise.race([page.waitForSelector('#status[data-state="live"]'), failed]);
    await Promise.race([page.waitForSelector('#nodes tbody tr'), failed]);
    expect(pageErrors, `uncaught errors in the page\n${demo.output()}`).toEqual([]);
  }, 60_000);
});
