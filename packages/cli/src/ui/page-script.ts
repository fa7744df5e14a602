// The dashboard page's script, served at /app.js: its parts (./browser/*) put together.
import { eventLog } from './browser/event-log.js';
import { eventStream } from './browser/event-stream.js';
import { nodeFilter } from './browser/node-filter.js';
import { nodeHistory } from './browser/node-history.js';
import { nodeTable } from './browser/node-table.js';
import { pageApi } from './browser/page-api.js';
import { pageKit } from './browser/page-kit.js';
import { pageState } from './browser/page-state.js';
import { statusHeader } from './browser/status-header.js';

/**
 * The parts of the page's script. Each runs in the browser, not in Node: the page is built from
 * their source text (`Function.prototype.toString`), with no build step and no module loader, so
 * each must stay self-contained (no imports at run time, nothing from its module's scope) and
 * gets what it uses from the parts made before it. They are written in TypeScript so that the
 * compiler checks them against the server's message types and against each other.
 *
 * Everything the page shows goes through `textContent` (never `innerHTML`): node ids, addresses
 * and metadata are user data. Every message is handled in a try/catch, so a value of an
 * unexpected shape costs one row or one log line, never the page.
 */
const PARTS = {
  pageState,
  pageKit,
  statusHeader,
  pageApi,
  eventLog,
  nodeFilter,
  nodeTable,
  nodeHistory,
  eventStream,
};

/** The page's script: makes each part, in an order where each gets what it needs, and starts. */
export function dashboardClient(parts: typeof PARTS): void {
  const state = parts.pageState();
  const kit = parts.pageKit(state);
  const header = parts.statusHeader(state, kit);
  const api = parts.pageApi(state, header);
  const log = parts.eventLog(state, kit);
  // The table and the history panel use each other: each callback runs only once both exist.
  const filter = parts.nodeFilter(kit, () => table.render());
  const table = parts.nodeTable(state, kit, filter, api, log, (id) => void history.show(id));
  const history = parts.nodeHistory(state, kit, api, table);
  const stream = parts.eventStream(state, kit, api, { header, table, log, history });
  header.render();
  table.render();
  log.render();
  stream.start();
}

/**
 * esbuild with `keepNames` (tsx, which runs the CLI from source, turns it on) wraps named functions
 * in calls to its `__name(fn, "name")` helper, which lives in the module's scope, not in the
 * parts' source text: without this definition the page would stop at the first part with a
 * ReferenceError. It does what esbuild's helper does. A build that inserts no calls leaves it unused.
 */
const NAME_HELPER =
  'const __name = (target, value) => Object.defineProperty(target, "name", { value, configurable: true });';

/**
 * Served at `/app.js`: {@link dashboardClient} called with its parts, all as source text, inside a
 * block so that the helper above stays out of the page's global scope.
 */
export const PAGE_SCRIPT = `"use strict";\n{\n${NAME_HELPER}\n(${dashboardClient.toString()})({\n${Object.entries(
  PARTS,
)
  .map(([name, part]) => `${name}: ${part.toString()}`)
  .join(',\n')}\n});\n}\n`;
