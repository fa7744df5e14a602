import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDiscovery, type DiscoveryBackend, type NodeDiscovery, silentLogger } from '@roster/core';
import { etcdBackend } from '@roster/etcd';
import * as memory from '@roster/memory';
import { natsBackend } from '@roster/nats';
import { redisBackend } from '@roster/redis';
import { freshNamespace, type ServiceHandle, startEtcd, startNats, startRedis } from '@roster/test-services';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli-error.js';
import type { ModuleLoader } from '../src/module-loader.js';
import { AccessGuard, isLoopback, TOKEN_COOKIE } from '../src/ui/access-guard.js';
import { DashboardFeed, type FeedMessage } from '../src/ui/dashboard-feed.js';
import { checkExposure } from '../src/ui/start-dashboard.js';
import { RosterProcess } from './helpers/roster-process.js';
import { HAVE_CHROMIUM, launchChromium, MISSING_CHROMIUM, MUST_HAVE_CHROMIUM } from './ui/chromium.js';
import { DashboardRun } from './ui/dashboard-run.js';

// `roster ui` in a real browser: Debian's Chromium driven by playwright-core. The CLI runs in
// this process (runCli with an interrupt signal); nodes are registered through createDiscovery
// here, on the same memory store or the same NATS server. Every browser wait has a deadline.

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const DOCS_SCREENSHOT = fileURLToPath(new URL('../../../docs/assets/roster-ui.png', import.meta.url));
/** Rule 1 of docs/guarantees.md: a registration reaches every watcher well under a second. */
const APPEAR_WITHIN = 1_000;
const WAIT = 10_000;

/** The CLI loads `@roster/memory` through this: its memory backends share the test's store. */
function memoryLoader(store: memory.MemoryStore): ModuleLoader {
  return async (specifier) =>
    specifier === '@roster/memory'
      ? {
          ...memory,
          memoryBackend: (options: memory.MemoryBackendOptions) =>
            memory.memoryBackend({ ...options, store }),
        }
      : ((await import(specifier)) as Record<string, unknown>);
}

async function waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type ServerKind = 'nats' | 'redis' | 'etcd';
const SERVERS: Record<
  ServerKind,
  { start: () => Promise<ServiceHandle>; backend: (url: string, namespace: string) => DiscoveryBackend }
> = {
  nats: { start: () => startNats(), backend: (url, namespace) => natsBackend({ servers: url, namespace }) },
  redis: { start: () => startRedis(), backend: (url, namespace) => redisBackend({ url, namespace }) },
  etcd: { start: () => startEtcd(), backend: (url, namespace) => etcdBackend({ hosts: url, namespace }) },
};

const rowSelector = (id: string) => `#nodes tbody tr[data-id="${id}"]`;

async function visibleIds(page: Page): Promise<string[]> {
  return page.$$eval('#nodes tbody tr', (rows) => rows.map((row) => (row as HTMLElement).dataset.id ?? ''));
}

/** Waits (with a deadline) until the event log has an entry `what` (e.g. `left expired`) for `id`. */
async function waitForLogEntry(page: Page, what: string, id: string, timeout = WAIT): Promise<void> {
  await page.waitForFunction(
    ([w, i]) =>
      Array.from(document.querySelectorAll('#events li')).some(
        (item) =>
          item.querySelector('.what')?.textContent === w && item.querySelector('.node')?.textContent === i,
      ),
    [what, id] as const,
    { timeout },
  );
}

if (!HAVE_CHROMIUM && MUST_HAVE_CHROMIUM)
  describe('roster ui in Chromium', () => {
    it('needs Chromium in CI', () => {
      throw new Error(`${MISSING_CHROMIUM}; .ci/run installs it when missing`);
    });
  });
if (!HAVE_CHROMIUM && !MUST_HAVE_CHROMIUM)
  console.warn(`skipping the roster ui browser tests: ${MISSING_CHROMIUM}`);

describe.skipIf(!HAVE_CHROMIUM)('roster ui in Chromium', () => {
  let browser: Browser;
  const cleanup: (() => Promise<unknown>)[] = [];
  /** Uncaught errors of any page of the current test: there must be none. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
    expect(pageErrors.splice(0), 'uncaught errors in the page').toEqual([]);
  });

  async function openPage(url: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    cleanup.push(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.waitForSelector('#status[data-state="live"]');
    return page;
  }

  function startUi(args: string[], loadModule?: ModuleLoader): DashboardRun {
    const run = new DashboardRun(['ui', '--port', '0', ...args], loadModule ? { loadModule } : {});
    cleanup.push(() => run.interrupt());
    return run;
  }

  describe('memory', () => {
    const store = memory.createMemoryStore();
    const loader = memoryLoader(store);

    async function node(namespace: string, ttl: number, options: { reregister?: boolean } = {}) {
      const discovery = await createDiscovery({
        backend: memory.memoryBackend({ store, namespace }),
        ttl,
        ...options,
      });
      cleanup.push(() => discovery.close());
      return discovery;
    }

    it('nodes appear within a second of registering; a filter narrows the table; the header counts them', async () => {
      const namespace = freshNamespace('ui');
      // The namespace exists before the dashboard looks (it never creates one).
      const cluster = await node(namespace, 2_000);
      const ui = startUi(['--url', `memory:?namespace=${namespace}`, '--ttl', '2000'], loader);
      const page = await openPage(await ui.url());
      expect(await page.textContent('#namespace')).toBe(namespace);
      expect(await page.textContent('#ttl')).toBe('2s');
      const plan = [
        { id: 'api-1', address: '10.0.0.11:8080', metadata: { role: 'api', zone: 'eu-1' }, load: 0.42 },
        { id: 'api-2', address: '10.0.0.12:8080', metadata: { role: 'api', zone: 'us-1' }, load: 0.87 },
        { id: 'worker-1', address: '10.0.0.13:9000', metadata: { role: 'worker', zone: 'eu-1' }, load: 0.15 },
      ];
      for (const registration of plan) {
        await cluster.register(registration);
        const registered = Date.now();
        await page.waitForSelector(rowSelector(registration.id), { timeout: APPEAR_WITHIN });
        expect(Date.now() - registered).toBeLessThan(APPEAR_WITHIN);
      }
      await waitForLogEntry(page, 'joined', 'worker-1');
      expect(await page.textContent('#count')).toBe('3');
      const row = page.locator(rowSelector('api-2'));
      expect(await row.locator('td.address').textContent()).toBe('10.0.0.12:8080');
      expect(await row.locator('.chip').allTextContents()).toEqual(['role=api', 'zone=us-1']);
      expect(await row.locator('.load .num').textContent()).toBe('0.87');

      await page.fill('#filter', 'role=api');
      await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 2);
      expect(await visibleIds(page)).toEqual(['api-1', 'api-2']);
      expect(await page.textContent('#shown')).toBe('2 of 3 shown');
      await page.fill('#filter', 'role=api zone=eu-1');
      await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 1);
      expect(await visibleIds(page)).toEqual(['api-1']);
      await page.fill('#filter', 'role=db');
      await page.waitForSelector('#empty:not([hidden])');
      expect(await visibleIds(page)).toEqual([]);
      await page.fill('#filter', '');
      await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 3);

      // A load change is an `updated` with what changed; the bar follows.
      await cluster.heartbeat('api-1', 0.65);
      await page.waitForFunction(
        () => document.querySelector('#nodes tbody tr[data-id="api-1"] .load .num')?.textContent === '0.65',
      );
      await waitForLogEntry(page, 'updated', 'api-1');
      expect(await ui.interrupt()).toBe(0);
    });

    it('an expiry shows as `left expired`; clicking a row shows its history; a screenshot is kept', async () => {
      // A store of its own, so that the picture in the README can show a plain namespace name.
      const own = memory.createMemoryStore();
      const namespace = 'prod';
      const member = async () => {
        const discovery = await createDiscovery({
          backend: memory.memoryBackend({ store: own, namespace }),
          ttl: 1_000,
        });
        cleanup.push(() => discovery.close());
        return discovery;
      };
      const cluster = await member();
      const crashing = await member();
      const ui = startUi(['--url', `memory:?namespace=${namespace}`, '--ttl', '1000'], memoryLoader(own));
      const page = await openPage(await ui.url());
      for (const [index, id] of ['api-1', 'api-2', 'worker-1', 'worker-2', 'cache-1'].entries())
        await cluster.register({
          id,
          address: `10.0.0.${11 + index}:${id.startsWith('cache') ? 6380 : 8080}`,
          metadata: { role: id.replace(/-\d+$/, ''), zone: index % 2 ? 'us-1' : 'eu-1', version: '1.4.2' },
          load: [0.31, 0.72, 0.18, 0.93, 0.05][index]!,
        });
      await crashing.register({ id: 'worker-9', address: '10.0.0.19:9000', metadata: { role: 'worker' } });
      await page.waitForSelector(rowSelector('worker-9'));
      await cluster.heartbeat('api-2', 0.55);
      await waitForLogEntry(page, 'updated', 'api-2');

      // The owner stops heartbeating without unregistering: rule 4 of docs/guarantees.md bounds
      // the expiry at ttl + max(1 000, ttl / 4) after the last heartbeat (which came before the
      // close), and the page is one more propagation (rule 1, under a second) away.
      await crashing.close({ unregister: false });
      const crashed = Date.now();
      await waitForLogEntry(page, 'left expired', 'worker-9', 1_000 + 1_000 + 1_000);
      expect(Date.now() - crashed).toBeLessThan(1_000 + 1_000 + 1_000);
      await page.waitForSelector(rowSelector('worker-9'), { state: 'detached' });

      await page.click(`${rowSelector('api-2')} td.id`);
      await page.waitForSelector('#history:not([hidden])');
      await page.waitForFunction(() => document.querySelectorAll('#history-table tbody tr').length === 2);
      const history = await page.$$eval('#history-table tbody tr', (rows) =>
        rows.map((row) => Array.from(row.querySelectorAll('td')).map((cell) => cell.textContent)),
      );
      expect(history.map((cells) => [cells[0], cells[3]])).toEqual([
        ['current', '0.55'],
        ['-1', '0.72'],
      ]);

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = `${ARTIFACTS}roster-ui.png`;
      await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 1280, height: 630 } });
      expect(existsSync(shot)).toBe(true);
      // The README's picture: refreshed on request, or made when missing (a run that changes
      // nothing else must not dirty the tree with new pixels of the same page).
      if (process.env.ROSTER_UPDATE_SCREENSHOT === '1' || !existsSync(DOCS_SCREENSHOT)) {
        mkdirSync(fileURLToPath(new URL('.', `file://${DOCS_SCREENSHOT}`)), { recursive: true });
        copyFileSync(shot, DOCS_SCREENSHOT);
      }
    });

    it('metadata is shown as text, never run as markup; foreign values in the store are skipped', async () => {
      const namespace = freshNamespace('ui');
      const cluster = await node(namespace, 10_000);
      const ui = startUi(['--url', `memory:?namespace=${namespace}`], loader);
      const page = await openPage(await ui.url());
      const hostile = '<img src=x onerror="window.__owned=1"><script>window.__owned=2</script>';
      await cluster.register({
        id: 'evil-1',
        address: '"><b>x</b>',
        metadata: { note: hostile, '<i>k</i>': 'v' },
      });
      await page.waitForSelector(rowSelector('evil-1'));
      const row = page.locator(rowSelector('evil-1'));
      expect(await row.locator('.chip').allTextContents()).toEqual([`note=${hostile}`, '<i>k</i>=v']);
      expect(await row.locator('td.address').textContent()).toBe('"><b>x</b>');
      expect(await page.$$('#nodes img, #nodes script, #nodes b, #nodes i')).toHaveLength(0);
      expect(await page.evaluate(() => (window as { __owned?: number }).__owned)).toBeUndefined();

      // Values another tool wrote (rule 10 of docs/guarantees.md): skipped, the page goes on.
      const raw = memory.memoryBackend({ store, namespace });
      await raw.open({ ttl: 10_000, logger: silentLogger });
      cleanup.push(() => raw.close());
      const bytes = (text: string) => new TextEncoder().encode(text);
      await raw.put('junk-1', bytes('{"v":99,"id":"junk-1"}'));
      await raw.put('junk-2', bytes('<b>not json</b>'));
      await cluster.register({ id: 'api-1' });
      await page.waitForSelector(rowSelector('api-1'));
      expect(await visibleIds(page)).toEqual(['api-1', 'evil-1']);
    });

    it('without --allow-actions there is no unregister button and the endpoint answers 403', async () => {
      const namespace = freshNamespace('ui');
      const cluster = await node(namespace, 10_000);
      const ui = startUi(['--url', `memory:?namespace=${namespace}`], loader);
      const url = await ui.url();
      const page = await openPage(url);
      await cluster.register({ id: 'api-1' });
      await page.waitForSelector(rowSelector('api-1'));
      expect(await page.$$('button.unregister')).toHaveLength(0);
      const refused = await fetch(`${url}api/nodes/api-1/unregister`, {
        method: 'POST',
        headers: { 'x-roster-action': 'unregister' },
      });
      expect(refused.status).toBe(403);
      expect(cluster.get('api-1')).toBeDefined();
    });

    it('with --allow-actions the button unregisters the node (after a confirming second click)', async () => {
      const namespace = freshNamespace('ui');
      // No re-registration: the owner gives the node up once it is removed.
      const cluster = await node(namespace, 10_000, { reregister: false });
      const ui = startUi(['--url', `memory:?namespace=${namespace}`, '--allow-actions'], loader);
      const url = await ui.url();
      const page = await openPage(url);
      await cluster.register({ id: 'api-1' });
      await cluster.register({ id: 'api-2' });
      await page.waitForSelector(`${rowSelector('api-1')} button.unregister`);
      await page.click(`${rowSelector('api-1')} button.unregister`);
      await page.waitForSelector(`${rowSelector('api-1')} button.unregister.armed`);
      await page.click(`${rowSelector('api-1')} button.unregister`);
      await waitForLogEntry(page, 'left unregistered', 'api-1');
      await page.waitForSelector(rowSelector('api-1'), { state: 'detached' });
      expect(await visibleIds(page)).toEqual(['api-2']);

      // Actions only from the page itself: another origin, or a request without the header, is refused.
      const foreign = await fetch(`${url}api/nodes/api-2/unregister`, {
        method: 'POST',
        headers: { 'x-roster-action': 'unregister', origin: 'http://evil.example' },
      });
      expect(foreign.status).toBe(403);
      const plain = await fetch(`${url}api/nodes/api-2/unregister`, { method: 'POST' });
      expect(plain.status).toBe(403);
      expect(cluster.get('api-2')).toBeDefined();
    });

    it('a backend outage shows "reconnecting", then live again with what changed meanwhile', async () => {
      const outageStore = memory.createMemoryStore();
      const namespace = freshNamespace('ui');
      const owner = await createDiscovery({
        backend: memory.memoryBackend({ store: outageStore, namespace }),
      });
      cleanup.push(() => owner.close());
      const ui = startUi(['--url', `memory:?namespace=${namespace}`], memoryLoader(outageStore));
      const page = await openPage(await ui.url());
      await owner.register({ id: 'api-1' });
      await page.waitForSelector(rowSelector('api-1'));

      const outage = outageStore.faults.restart(6_000);
      await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: WAIT });
      expect(await page.textContent('#banner')).toContain('reconnecting');
      await outage;
      await page.waitForSelector('#status[data-state="live"]', { timeout: WAIT });
      await owner.register({ id: 'api-2' });
      await page.waitForSelector(rowSelector('api-2'));
    });

    it('the page reconnects when roster ui restarts, and reloads the view', async () => {
      const namespace = freshNamespace('ui');
      const cluster = await node(namespace, 10_000);
      const first = new DashboardRun(['ui', '--port', '0', '--url', `memory:?namespace=${namespace}`], {
        loadModule: loader,
      });
      const url = await first.url();
      const page = await openPage(url);
      await cluster.register({ id: 'api-1' });
      await page.waitForSelector(rowSelector('api-1'));

      expect(await first.interrupt()).toBe(0);
      await page.waitForSelector('#status[data-state="reconnecting"]');
      await cluster.register({ id: 'api-2' }); // while no dashboard runs

      const port = new URL(url).port;
      const second = startUi(['--url', `memory:?namespace=${namespace}`, '--port', port], loader);
      expect(await second.url()).toBe(url);
      await page.waitForSelector('#status[data-state="live"]', { timeout: WAIT });
      await page.waitForSelector(rowSelector('api-2'));
      expect(await visibleIds(page)).toEqual(['api-1', 'api-2']);
    });

    it('roster demo --ui serves the demo cluster: the page sees it join, expire and leave', async () => {
      const demo = new DashboardRun(['demo', '--ui', '--nodes', '3', '--duration', '0', '--ttl', '1000'], {
        loadModule: loader,
      });
      cleanup.push(() => demo.interrupt());
      const page = await openPage(await demo.url());
      expect(await page.textContent('#namespace')).toMatch(/^demo-[0-9a-f]{6}$/);
      await waitForLogEntry(page, 'joined', 'api-1', 15_000);
      await waitForLogEntry(page, 'left expired', 'worker-1', 15_000);
      await waitForLogEntry(page, 'left unregistered', 'cache-1', 15_000);
      expect(await visibleIds(page)).toEqual(['api-1']);
      await waitUntil(() => demo.stdout.includes('The dashboard stays up'), 'the demo to finish its story');
      expect(await page.$$('#status[data-state="live"]')).toHaveLength(1);
      expect(await demo.interrupt()).toBe(0);
    });
  });

  it('with a token, the page says it needs one; opening /?token=… lets its event stream in', async () => {
    const store = memory.createMemoryStore();
    const holder = await createDiscovery({ backend: memory.memoryBackend({ store }) });
    cleanup.push(() => holder.close());
    await holder.register({ id: 'api-1' });
    const token = 'browser-token-123';
    const ui = new DashboardRun(['ui', '--port', '0', '--host', '0.0.0.0', '--ui-token', token], {
      loadModule: memoryLoader(store),
    });
    cleanup.push(() => ui.interrupt());
    const url = await ui.url();
    const context = await browser.newContext();
    cleanup.push(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(url);
    await page.waitForSelector('#status[data-state="unauthorized"]');
    expect(await page.textContent('#banner')).toContain('needs its token');
    expect(await page.$$('#nodes tbody tr')).toHaveLength(0);
    await page.goto(`${url}?token=${token}`);
    expect(page.url()).toBe(url); // the token left the address bar
    await page.waitForSelector('#status[data-state="live"]');
    await page.waitForSelector(rowSelector('api-1'));
  });

  it('the built binary serves a working page (the bundled script runs on its own)', async () => {
    // The page script is a function's source text: a bundler setting that made it depend on
    // anything outside itself would break the page only in the published build.
    const demo = new RosterProcess(['demo', '--ui', '--nodes', '3', '--duration', '30'], { BROWSER: 'none' });
    cleanup.push(async () => {
      demo.kill('SIGINT');
      await demo.exited;
    });
    await demo.until((p) => /Dashboard: http:\/\/\S+\//.test(p.stdout), 'the dashboard URL');
    const url = /Dashboard: (http:\/\/\S+\/)/.exec(demo.stdout)![1]!;
    const page = await openPage(url);
    await page.waitForSelector(rowSelector('api-1'));
    expect(await page.textContent('#namespace')).toMatch(/^demo-[0-9a-f]{6}$/);
  });

  // Every backend, each with its own server: the page follows the CLI's watch the same way.
  describe.each<ServerKind>(['nats', 'redis', 'etcd'])('%s', (kind) => {
    let server: ServiceHandle;

    beforeAll(async () => {
      server = await SERVERS[kind].start();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('nodes appear within a second; a filter narrows; an expiry shows as `left expired`; history opens', async () => {
      const namespace = freshNamespace('ui');
      const ttl = 1_000;
      const hostPort = server.url.replace(/^[a-z]+:\/\//, '');
      const ui = () => startUi(['--url', `${kind}://${hostPort}`, '-n', namespace, '--ttl', `${ttl}`]);

      const member = async () => {
        const discovery = await createDiscovery({
          backend: SERVERS[kind].backend(server.url, namespace),
          ttl,
        });
        cleanup.push(() => discovery.close());
        return discovery;
      };
      // The namespace exists before the dashboard looks (it never creates one).
      const nodes = await member();
      const crashing = await member();
      const page = await openPage(await ui().url());
      expect(await page.textContent('#backend')).toBe(`${kind} at ${hostPort}`);
      for (const [index, role] of ['api', 'worker'].entries()) {
        await nodes.register({ id: `${role}-1`, address: `10.0.0.${11 + index}:8080`, metadata: { role } });
        const registered = Date.now();
        await page.waitForSelector(rowSelector(`${role}-1`), { timeout: APPEAR_WITHIN });
        expect(Date.now() - registered).toBeLessThan(APPEAR_WITHIN);
      }
      await crashing.register({ id: 'cache-1', metadata: { role: 'cache' } });
      await page.waitForSelector(rowSelector('cache-1'), { timeout: APPEAR_WITHIN });

      await page.fill('#filter', 'role=worker');
      await page.waitForFunction(() => document.querySelectorAll('#nodes tbody tr').length === 1);
      expect(await visibleIds(page)).toEqual(['worker-1']);
      await page.fill('#filter', '');

      await crashing.close({ unregister: false });
      const crashed = Date.now();
      // Rule 4 of docs/guarantees.md (ttl + max(1 000, ttl / 4) after the last heartbeat, which
      // came before the close) plus one propagation to the page (rule 1). NATS 2.9 sends no
      // expiry event: core detects it.
      await waitForLogEntry(page, 'left expired', 'cache-1', ttl + 1_000 + 1_000);
      expect(Date.now() - crashed).toBeLessThan(ttl + 1_000 + 1_000);
      expect(await visibleIds(page)).toEqual(['api-1', 'worker-1']);

      await nodes.heartbeat('api-1', 0.5);
      await waitForLogEntry(page, 'updated', 'api-1');
      await page.click(`${rowSelector('api-1')} td.id`);
      await page.waitForFunction(() => document.querySelectorAll('#history-table tbody tr').length >= 2);
      const loads = await page.$$eval('#history-table tbody tr', (rows) =>
        rows.map((row) => row.querySelectorAll('td')[3]?.textContent),
      );
      expect(loads.slice(0, 2)).toEqual(['0.5', '0']);
    });

    it('a frozen server shows "reconnecting"; once it thaws the page is live and follows again', async () => {
      const namespace = freshNamespace('ui');
      const hostPort = server.url.replace(/^[a-z]+:\/\//, '');
      const owner = await createDiscovery({ backend: SERVERS[kind].backend(server.url, namespace) });
      cleanup.push(() => owner.close());
      const ui = startUi(['--url', `${kind}://${hostPort}`, '-n', namespace]);
      const page = await openPage(await ui.url());
      await owner.register({ id: 'api-1' });
      await page.waitForSelector(rowSelector('api-1'));

      const frozen = server.pause(6_000);
      await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: WAIT });
      expect(await page.textContent('#banner')).toContain('reconnecting');
      expect(await visibleIds(page)).toEqual(['api-1']); // the view stays as last seen
      await frozen;
      await page.waitForSelector('#status[data-state="live"]', { timeout: WAIT });
      await owner.register({ id: 'api-2' });
      await page.waitForSelector(rowSelector('api-2'), { timeout: WAIT });
    });
  });
});

describe('roster ui over HTTP', () => {
  // An in-process memory store whose namespace `default` exists (the dashboard never creates one).
  const store = memory.createMemoryStore();
  const loadModule = memoryLoader(store);
  let holder: NodeDiscovery | undefined;
  beforeAll(async () => {
    holder = await createDiscovery({ backend: memory.memoryBackend({ store }) });
  });
  afterAll(async () => {
    await holder?.close();
  });

  it('--help says how to pass the token', async () => {
    const run = new DashboardRun(['ui', '--help']);
    expect(await run.exited).toBe(0);
    expect(run.stdout).toContain('roster ui');
    expect(run.stdout).toContain('Authorization: Bearer <T>');
    expect(run.stdout).toContain('?token=<T>');
    expect(run.stdout).toContain('cookie');
    expect(run.stdout).toContain('--allow-actions');
  });

  it('waits for an absent namespace, without creating it, until Ctrl-C (exit 0)', async () => {
    const run = new DashboardRun(['ui', '--port', '0', '-n', 'not-there-yet'], { loadModule });
    await waitUntil(
      () => run.stderr.includes('namespace not-there-yet does not exist yet'),
      'the waiting notice',
    );
    expect(run.stdout).toBe('');
    const look = memory.memoryBackend({ store, namespace: 'not-there-yet' });
    expect((await look.inspect!()).exists).toBe(false);
    await look.close();
    expect(await run.interrupt()).toBe(0);
    expect(run.stdout).toBe('');
  });

  it('refuses a non-loopback --host without a token, before connecting', async () => {
    const run = new DashboardRun(['ui', '--host', '0.0.0.0', '--port', '0']);
    expect(await run.exited).toBe(2);
    expect(run.stderr).toMatch(
      /--host 0\.0\.0\.0 is reachable from other machines: the dashboard needs a token/,
    );
    expect(run.stderr).toContain('--ui-token');
    expect(run.stdout).toBe('');
  });

  it('on a non-loopback host every API and event-stream request needs the token', async () => {
    const token = 'test-token-0123456789';
    const run = new DashboardRun(['ui', '--host', '0.0.0.0', '--port', '0', '--ui-token', token], {
      loadModule,
    });
    try {
      const url = await run.url();
      expect(run.stderr).toContain('reachable from other machines');
      expect(run.stderr).toContain('Authorization: Bearer');

      // The page itself holds no data; the API and the stream do.
      expect((await fetch(url)).status).toBe(200);
      expect((await fetch(`${url}api/snapshot`)).status).toBe(401);
      expect((await fetch(`${url}api/events`)).status).toBe(401);
      expect(
        (await fetch(`${url}api/snapshot`, { headers: { authorization: 'Bearer wrong-token-000' } })).status,
      ).toBe(401);
      expect(
        (await fetch(`${url}api/snapshot`, { headers: { authorization: `Bearer ${token}` } })).status,
      ).toBe(200);
      expect((await fetch(`${url}api/snapshot?token=${token}`)).status).toBe(200);

      // Visiting /?token=… sets the cookie an EventSource sends, and drops the token from the address.
      const visit = await fetch(`${url}?token=${token}`, { redirect: 'manual' });
      expect(visit.status).toBe(303);
      expect(visit.headers.get('location')).toBe('/');
      const cookie = visit.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const jar = cookie.split(';')[0]!;
      const stream = new AbortController();
      const events = await fetch(`${url}api/events`, { headers: { cookie: jar }, signal: stream.signal });
      expect(events.status).toBe(200);
      expect(events.headers.get('content-type')).toMatch(/^text\/event-stream/);
      stream.abort();
      expect((await fetch(`${url}?token=nope-nope-nope`, { redirect: 'manual' })).status).toBe(401);
    } finally {
      expect(await run.interrupt()).toBe(0);
    }
  });

  it('a port in use is one line with a hint, exit 1', async () => {
    const first = new DashboardRun(['ui', '--port', '0'], { loadModule });
    try {
      const port = new URL(await first.url()).port;
      const second = new DashboardRun(['ui', '--port', port], { loadModule });
      expect(await second.exited).toBe(1);
      expect(second.stderr).toContain(
        `roster: port ${port} on 127.0.0.1 is already in use (hint: --port 0 picks a free port)`,
      );
      expect(second.stdout).toBe('');
    } finally {
      expect(await first.interrupt()).toBe(0);
    }
  });

  it('on loopback it refuses a Host header naming another machine (DNS rebinding)', async () => {
    const run = new DashboardRun(['ui', '--port', '0'], { loadModule });
    try {
      const url = new URL(await run.url());
      const answer = await new Promise<number>((resolve, reject) => {
        import('node:http').then(({ request }) => {
          const req = request(
            {
              host: url.hostname,
              port: url.port,
              path: '/api/snapshot',
              headers: { host: `evil.example:${url.port}` },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.end();
        }, reject);
      });
      expect(answer).toBe(403);
      expect((await fetch(`${url}api/snapshot`)).status).toBe(200);
    } finally {
      expect(await run.interrupt()).toBe(0);
    }
  });
});

describe('dashboard pieces', () => {
  it('isLoopback: 127.0.0.0/8, ::1 and localhost only', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      'LOCALHOST',
      'app.localhost',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'example.com', '128.0.0.1', '::2'])
      expect(isLoopback(host), host).toBe(false);
  });

  it('AccessGuard takes the token from the header, the query or the cookie, and nothing else', () => {
    const guard = new AccessGuard('s3cret-token', false);
    const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
    const url = (query = '') => new URL(`http://h/api/snapshot${query}`);
    expect(guard.checkToken(request({ authorization: 'Bearer s3cret-token' }), url())).toBeUndefined();
    expect(guard.checkToken(request({}), url('?token=s3cret-token'))).toBeUndefined();
    expect(guard.checkToken(request({ cookie: `a=b; ${TOKEN_COOKIE}=s3cret-token` }), url())).toBeUndefined();
    expect(guard.checkToken(request({}), url())?.status).toBe(401);
    expect(guard.checkToken(request({ authorization: 'Bearer s3cret-tokeN' }), url())?.status).toBe(401);
    expect(guard.checkToken(request({ authorization: 'Basic s3cret-token' }), url())?.status).toBe(401);
    expect(guard.checkToken(request({ cookie: 'other=s3cret-token' }), url())?.status).toBe(401);
    // Bound to all interfaces: no Host check (names are unknown), the token guards it.
    expect(guard.checkHost(request({ host: 'roster.example:4780' }))).toBeUndefined();
    const loopback = new AccessGuard(undefined, true);
    expect(loopback.checkHost(request({ host: '127.0.0.1:4780' }))).toBeUndefined();
    expect(loopback.checkHost(request({ host: 'localhost:4780' }))).toBeUndefined();
    expect(loopback.checkHost(request({ host: '[::1]:4780' }))).toBeUndefined();
    expect(loopback.checkHost(request({ host: 'rebind.example:4780' }))?.status).toBe(403);
    expect(loopback.checkToken(request({}), url())).toBeUndefined();
  });

  it('checkExposure: a reachable host needs a token of 8+ characters', () => {
    expect(checkExposure('127.0.0.1', undefined)).toBe(false);
    expect(checkExposure('0.0.0.0', 'long-enough')).toBe(true);
    expect(() => checkExposure('0.0.0.0', undefined)).toThrow(UsageError);
    expect(() => checkExposure('127.0.0.1', 'short')).toThrow(/at least 8 characters/);
  });

  it('DashboardFeed: nodes present at start are the view, not news; later changes are logged in order', async () => {
    const store = memory.createMemoryStore();
    const owner = await createDiscovery({ backend: memory.memoryBackend({ store }) });
    const observer = await createDiscovery({ backend: memory.memoryBackend({ store }) });
    const stop = new AbortController();
    try {
      await owner.register({ id: 'api-1' });
      await waitUntil(() => observer.get('api-1') !== undefined, 'the observer to see api-1');
      const feed = new DashboardFeed(
        observer,
        { backend: 'memory', namespace: 'default', ttl: 10_000, actions: false },
        Date.now,
      );
      const messages: FeedMessage[] = [];
      feed.subscribe((message) => messages.push(message));
      const running = feed.run(stop.signal);
      await waitUntil(() => feed.snapshot().nodes.length === 1, 'the feed to list api-1');
      expect(messages).toEqual([{ kind: 'node', node: expect.objectContaining({ id: 'api-1' }) }]);
      expect(feed.snapshot().presentAtStart).toBe(1);

      await owner.register({ id: 'api-2', load: 0.1 });
      await owner.heartbeat('api-2', 0.2);
      await owner.unregister('api-1');
      await waitUntil(() => feed.snapshot().events.length === 3, 'three logged events');
      const { events, nodes } = feed.snapshot();
      expect(events.map((e) => [e.seq, e.type, e.node.id, e.reason])).toEqual([
        [1, 'joined', 'api-2', undefined],
        [2, 'updated', 'api-2', undefined],
        [3, 'left', 'api-1', 'unregistered'],
      ]);
      expect(events[1]!.previous?.load).toBe(0.1);
      expect(nodes.map((n) => n.id)).toEqual(['api-2']);

      feed.setStatus({ status: 'reconnecting', since: 1, detail: 'down' });
      feed.setStatus({ status: 'reconnecting', since: 2, detail: 'down' }); // no news
      feed.setStatus({ status: 'connected', since: 3 });
      expect(
        messages.filter((m) => m.kind === 'status').map((m) => m.kind === 'status' && m.status.status),
      ).toEqual(['reconnecting', 'connected']);
      stop.abort();
      await running;
    } finally {
      stop.abort();
      await owner.close();
      await observer.close();
    }
  });
});
