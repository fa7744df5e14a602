import type { NodeInfo } from '@roster/core';
import type { UiEvent, UiSnapshot, UiStatus } from './wire.js';

/**
 * The page's script. It runs in the browser, not in Node: {@link PAGE_SCRIPT} is its source text,
 * so it must stay self-contained (no imports at run time, nothing from this module's scope). It
 * is written in TypeScript so that the compiler checks it against the server's message types.
 *
 * Everything it shows goes through `textContent` (never `innerHTML`): node ids, addresses and
 * metadata are user data. Every message is handled in a try/catch, so a value of an unexpected
 * shape costs one row or one log line, never the page.
 */
export function dashboardClient(): void {
  interface Meta {
    backend: string;
    namespace: string;
    ttl: number;
    actions: boolean;
    watchingSince: number;
    presentAtStart: number;
  }
  type StreamState = 'connecting' | 'open' | 'reconnecting' | 'unauthorized';

  const MAX_EVENTS = 500;
  const nodes = new Map<string, NodeInfo>();
  let events: UiEvent[] = [];
  let meta: Meta | undefined;
  let status: UiStatus = { status: 'connected', since: Date.now() };
  let stream: StreamState = 'connecting';
  /** The CLI's clock minus ours: ages are measured on the CLI's clock. */
  let offset = 0;
  let lastMessage = Date.now();
  let selected: string | undefined;
  let source: EventSource | undefined;
  let lastSeq = 0;
  const armed = new Map<string, number>();
  const flashing = new Set<string>();

  const byId = <T extends HTMLElement>(id: string): T => {
    const found = document.getElementById(id);
    if (!found) throw new Error(`the page has no #${id}`);
    return found as T;
  };
  const make = (tag: string, className?: string, text?: string): HTMLElement => {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  };
  const now = () => Date.now() + offset;
  const str = (value: unknown): string =>
    typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value);
  const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const metadataOf = (node: NodeInfo): [string, string][] =>
    node.metadata && typeof node.metadata === 'object'
      ? Object.entries(node.metadata).map(([key, value]) => [key, str(value)])
      : [];

  function span(ms: number): string {
    const abs = Math.abs(ms);
    if (abs < 1_000) return `${Math.round(abs)}ms`;
    if (abs < 60_000) return `${Math.floor(abs / 1_000)}s`;
    const minutes = Math.floor(abs / 60_000);
    if (minutes < 60) return `${minutes}m${String(Math.floor((abs % 60_000) / 1_000)).padStart(2, '0')}s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
    return `${Math.floor(hours / 24)}d${hours % 24}h`;
  }
  function ago(at: number): string {
    const delta = now() - at;
    if (Math.abs(delta) < 1_000) return 'just now';
    return delta > 0 ? `${span(delta)} ago` : `in ${span(delta)}`;
  }
  function clock(at: number): string {
    const date = new Date(at);
    return [date.getHours(), date.getMinutes(), date.getSeconds()]
      .map((part) => String(part).padStart(2, '0'))
      .join(':');
  }
  function loadText(load: number): string {
    return load >= 10 ? String(Math.round(load)) : String(Math.round(load * 100) / 100);
  }

  // --- filter ---------------------------------------------------------------------------------
  const filterInput = byId<HTMLInputElement>('filter');
  function parseFilter(): { pairs: [string, string][]; words: string[] } {
    const pairs: [string, string][] = [];
    const words: string[] = [];
    for (const token of filterInput.value.split(/[\s,]+/)) {
      if (token === '') continue;
      const at = token.indexOf('=');
      if (at > 0) pairs.push([token.slice(0, at), token.slice(at + 1)]);
      else words.push(token.toLowerCase());
    }
    return { pairs, words };
  }
  function matches(node: NodeInfo, filter: ReturnType<typeof parseFilter>): boolean {
    const metadata = new Map(metadataOf(node));
    for (const [key, value] of filter.pairs) if (metadata.get(key) !== value) return false;
    const haystack = `${str(node.id)} ${str(node.address)}`.toLowerCase();
    return filter.words.every((word) => haystack.includes(word));
  }

  // --- rendering ------------------------------------------------------------------------------
  function renderHeader(): void {
    if (meta) {
      byId('backend').textContent = meta.backend;
      byId('namespace').textContent = meta.namespace;
      byId('ttl').textContent = span(meta.ttl);
      byId('since').textContent =
        `watching since ${clock(meta.watchingSince)}` +
        (meta.presentAtStart > 0 ? ` (${meta.presentAtStart} nodes were there)` : '');
    }
    byId('count').textContent = String(nodes.size);
    let joined = 0;
    let updated = 0;
    let left = 0;
    for (const event of events)
      if (event.type === 'joined') joined += 1;
      else if (event.type === 'updated') updated += 1;
      else left += 1;
    byId('event-counts').textContent = `${joined} joined · ${updated} updated · ${left} left`;

    const badge = byId('status');
    const text = byId('status-text');
    const banner = byId('banner');
    banner.classList.remove('bad');
    if (stream === 'unauthorized') {
      badge.dataset.state = 'unauthorized';
      text.textContent = 'token required';
      banner.hidden = false;
      banner.classList.add('bad');
      banner.textContent =
        'This dashboard needs its token: open it as /?token=<token> (the token given to roster ui with --ui-token).';
    } else if (stream !== 'open') {
      badge.dataset.state = 'reconnecting';
      text.textContent = stream === 'connecting' ? 'connecting' : 'reconnecting';
      banner.hidden = stream === 'connecting';
      banner.textContent =
        'Lost the connection to the roster ui process — reconnecting. The view below may be stale.';
    } else if (status.status === 'reconnecting') {
      badge.dataset.state = 'reconnecting';
      text.textContent = 'reconnecting';
      banner.hidden = false;
      banner.textContent = `The backend does not answer (since ${clock(status.since)}${status.detail ? `: ${status.detail}` : ''}) — reconnecting. Nodes stay as last seen until it is back.`;
    } else if (status.status === 'closed') {
      badge.dataset.state = 'closed';
      text.textContent = 'closed';
      banner.hidden = false;
      banner.classList.add('bad');
      banner.textContent = 'The roster ui process closed its connection to the backend.';
    } else {
      badge.dataset.state = 'live';
      text.textContent = 'live';
      banner.hidden = true;
    }
  }

  function loadCell(load: number): HTMLElement {
    const cell = make('div', 'load');
    const bar = make('div', 'bar');
    const fill = make('div', load > 1 ? 'fill over' : load > 0.8 ? 'fill high' : 'fill');
    fill.style.width = `${Math.min(1, Math.max(0, load)) * 100}%`;
    bar.append(fill);
    cell.append(bar, make('span', 'num', loadText(load)));
    return cell;
  }

  function nodeRow(node: NodeInfo): HTMLTableRowElement {
    const id = str(node.id);
    const row = document.createElement('tr');
    row.dataset.id = id;
    if (id === selected) row.classList.add('selected');
    if (flashing.has(id)) row.classList.add('flash');
    const metadata = make('td', 'metadata');
    for (const [key, value] of metadataOf(node)) {
      const chip = make('span', 'chip', `${key}=${value}`);
      chip.title = `${key}=${value}`;
      metadata.append(chip);
    }
    const load = make('td');
    load.append(loadCell(num(node.load)));
    const actions = make('td', 'actions-col');
    if (meta?.actions) {
      const button = make('button', 'unregister', 'unregister') as HTMLButtonElement;
      button.type = 'button';
      const armedAt = armed.get(id);
      if (armedAt !== undefined && Date.now() - armedAt < 4_000) {
        button.classList.add('armed');
        button.textContent = 'confirm';
      }
      button.addEventListener('click', (click) => {
        click.stopPropagation();
        const at = armed.get(id);
        if (at !== undefined && Date.now() - at < 4_000) {
          armed.delete(id);
          void unregister(id);
        } else {
          armed.set(id, Date.now());
          button.classList.add('armed');
          button.textContent = 'confirm';
        }
      });
      actions.append(button);
    }
    row.append(
      make('td', 'id', id),
      make('td', 'address', str(node.address) || '–'),
      metadata,
      load,
      make('td', 'age', ago(num(node.registeredAt)).replace(/ ago$/, '')),
      make('td', 'seen', ago(num(node.lastSeen))),
      actions,
    );
    row.addEventListener('click', () => void showHistory(id));
    return row;
  }

  function renderTable(): void {
    const filter = parseFilter();
    const body = byId('nodes').querySelector('tbody');
    if (!body) return;
    const rows: HTMLTableRowElement[] = [];
    const ids = [...nodes.keys()].sort();
    for (const id of ids) {
      const node = nodes.get(id);
      if (!node) continue;
      try {
        if (matches(node, filter)) rows.push(nodeRow(node));
      } catch (error) {
        console.warn('roster: cannot show node', id, error);
      }
    }
    body.replaceChildren(...rows);
    const filtered = filter.pairs.length > 0 || filter.words.length > 0;
    byId('shown').textContent = filtered ? `${rows.length} of ${nodes.size} shown` : '';
    byId('empty').hidden = rows.length > 0;
    byId('empty').textContent = filtered && nodes.size > 0 ? 'No node matches the filter.' : 'No nodes.';
    flashing.clear();
  }

  function describeChange(event: UiEvent): string {
    const node = event.node;
    const previous = event.previous;
    if (event.type === 'joined')
      return [
        str(node.address),
        ...metadataOf(node).map(([k, v]) => `${k}=${v}`),
        `load ${loadText(num(node.load))}`,
      ]
        .filter(Boolean)
        .join(' ');
    if (event.type === 'updated' && previous) {
      const parts: string[] = [];
      if (num(previous.load) !== num(node.load))
        parts.push(`load ${loadText(num(previous.load))} → ${loadText(num(node.load))}`);
      if (str(previous.address) !== str(node.address))
        parts.push(`address ${str(previous.address) || '–'} → ${str(node.address) || '–'}`);
      const before = new Map(metadataOf(previous));
      const after = new Map(metadataOf(node));
      for (const [key, value] of after)
        if (before.get(key) !== value)
          parts.push(`${key}=${value}${before.has(key) ? ` (was ${before.get(key)})` : ''}`);
      for (const key of before.keys()) if (!after.has(key)) parts.push(`${key} removed`);
      return parts.join(', ');
    }
    return '';
  }

  function eventItem(event: UiEvent): HTMLElement {
    const item = make('li', str(event.type));
    item.dataset.seq = String(event.seq);
    item.append(
      make('span', 'time', clock(num(event.at))),
      make('span', 'what', event.reason ? `${str(event.type)} ${str(event.reason)}` : str(event.type)),
      make('span', 'node', str(event.node?.id)),
    );
    const detail = describeChange(event);
    if (detail) item.append(make('span', 'detail', detail));
    return item;
  }

  function renderEvents(): void {
    const list = byId('events');
    const items: HTMLElement[] = [];
    for (let index = events.length - 1; index >= 0; index--) {
      const event = events[index];
      if (!event) continue;
      try {
        items.push(eventItem(event));
      } catch (error) {
        console.warn('roster: cannot show event', error);
      }
    }
    if (items.length === 0) items.push(make('li', 'notice', 'No changes yet.'));
    list.replaceChildren(...items);
  }

  function prependEvent(event: UiEvent): void {
    const list = byId('events');
    list.querySelector('li.notice')?.remove();
    list.prepend(eventItem(event));
    while (list.children.length > MAX_EVENTS) list.lastElementChild?.remove();
  }

  function renderAll(): void {
    renderHeader();
    renderTable();
    renderEvents();
  }

  // --- history and actions -------------------------------------------------------------------
  async function api(path: string, init?: RequestInit): Promise<Response> {
    const response = await fetch(path, { credentials: 'same-origin', ...init });
    if (response.status === 401) {
      stream = 'unauthorized';
      renderHeader();
    }
    return response;
  }

  async function showHistory(id: string): Promise<void> {
    selected = id;
    renderTable();
    const panel = byId('history');
    panel.hidden = false;
    byId('history-id').textContent = id;
    const note = byId('history-note');
    const body = byId('history-table').querySelector('tbody');
    note.textContent = 'loading …';
    body?.replaceChildren();
    try {
      const response = await api(`/api/nodes/${encodeURIComponent(id)}/history?limit=20`);
      const payload = (await response.json()) as { states?: NodeInfo[]; error?: string };
      if (selected !== id) return;
      if (!response.ok || !Array.isArray(payload.states)) {
        note.textContent = payload.error ?? `history unavailable (HTTP ${response.status})`;
        return;
      }
      note.textContent =
        payload.states.length === 0
          ? 'No history for this node.'
          : 'Current state first, then earlier ones (plain heartbeats are not history entries).';
      const alive = nodes.has(id);
      body?.replaceChildren(
        ...payload.states.map((state, index) => {
          const row = document.createElement('tr');
          row.append(
            make('td', '', index === 0 ? (alive ? 'current' : 'last') : `-${index}`),
            make('td', '', `${clock(num(state.lastSeen))} (${ago(num(state.lastSeen))})`),
            make('td', 'address', str(state.address) || '–'),
            make('td', '', loadText(num(state.load))),
            make('td', '', str(state.instanceId).slice(0, 8)),
            make(
              'td',
              '',
              metadataOf(state)
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
            ),
          );
          return row;
        }),
      );
    } catch (error) {
      if (selected === id) note.textContent = `history unavailable: ${String(error)}`;
    }
  }

  async function unregister(id: string): Promise<void> {
    try {
      const response = await api(`/api/nodes/${encodeURIComponent(id)}/unregister`, {
        method: 'POST',
        headers: { 'X-Roster-Action': 'unregister' },
      });
      if (!response.ok) {
        const payload = (await response.json().catch(() => ({}))) as { error?: string };
        notice(`unregister ${id} failed: ${payload.error ?? `HTTP ${response.status}`}`);
      }
    } catch (error) {
      notice(`unregister ${id} failed: ${String(error)}`);
    }
    renderTable();
  }

  function notice(text: string): void {
    const list = byId('events');
    list.prepend(make('li', 'notice', text));
  }

  byId('history-close').addEventListener('click', () => {
    selected = undefined;
    byId('history').hidden = true;
    renderTable();
  });
  filterInput.addEventListener('input', () => renderTable());

  // --- the event stream ----------------------------------------------------------------------
  function applySnapshot(snapshot: UiSnapshot): void {
    meta = {
      backend: str(snapshot.backend),
      namespace: str(snapshot.namespace),
      ttl: num(snapshot.ttl),
      actions: snapshot.actions === true,
      watchingSince: num(snapshot.watchingSince),
      presentAtStart: num(snapshot.presentAtStart),
    };
    offset = num(snapshot.serverNow) - Date.now();
    status = snapshot.status;
    nodes.clear();
    for (const node of Array.isArray(snapshot.nodes) ? snapshot.nodes : [])
      if (node && typeof node.id === 'string') nodes.set(node.id, node);
    events = Array.isArray(snapshot.events) ? snapshot.events.slice(-MAX_EVENTS) : [];
    lastSeq = events.reduce((max, event) => Math.max(max, num(event.seq)), 0);
    document.title = `Roster · ${meta.namespace}`;
    renderAll();
  }

  function applyChange(event: UiEvent): void {
    if (num(event.seq) <= lastSeq) return;
    lastSeq = num(event.seq);
    const id = str(event.node?.id);
    if (event.type === 'left') nodes.delete(id);
    else if (id) {
      nodes.set(id, event.node);
      flashing.add(id);
    }
    events.push(event);
    if (events.length > MAX_EVENTS) events.shift();
    renderHeader();
    renderTable();
    prependEvent(event);
    if (selected === id && !byId('history').hidden) void showHistory(id);
  }

  function on(kind: string, handle: (data: unknown) => void): void {
    source?.addEventListener(kind, (message) => {
      lastMessage = Date.now();
      try {
        handle(JSON.parse((message as MessageEvent<string>).data));
      } catch (error) {
        console.warn(`roster: bad ${kind} message`, error);
      }
    });
  }

  function connect(): void {
    source?.close();
    source = new EventSource('/api/events');
    on('snapshot', (data) => {
      stream = 'open';
      applySnapshot(data as UiSnapshot);
    });
    on('change', (data) => applyChange(data as UiEvent));
    on('node', (data) => {
      const node = data as NodeInfo;
      if (typeof node?.id !== 'string') return;
      nodes.set(node.id, node);
      renderHeader();
      renderTable();
    });
    on('status', (data) => {
      status = data as UiStatus;
      renderHeader();
    });
    on('ping', (data) => {
      const serverNow = num((data as { serverNow?: unknown }).serverNow);
      if (serverNow > 0) offset = serverNow - Date.now();
    });
    source.addEventListener('error', () => {
      if (stream === 'unauthorized') return;
      stream = 'reconnecting';
      renderHeader();
      // The browser retries by itself after a network error; after a refused response (the
      // server answered but not with a stream) it gives up, so find out why and retry here.
      if (source?.readyState === EventSource.CLOSED) {
        void api('/api/snapshot')
          .then((response) => {
            if (response.status !== 401) setTimeout(connect, 1_000);
          })
          .catch(() => setTimeout(connect, 1_000));
      }
    });
  }

  // Ages tick; a stream that has gone silent (the server sends a ping every few seconds) is
  // dropped and reopened, which also reloads the snapshot.
  setInterval(() => {
    if (stream === 'open' && Date.now() - lastMessage > 15_000) {
      stream = 'reconnecting';
      renderHeader();
      connect();
      return;
    }
    renderTable();
  }, 1_000);

  renderAll();
  connect();
}

/** Served at `/app.js`: the function above, called. */
export const PAGE_SCRIPT = `"use strict";\n(${dashboardClient.toString()})();\n`;
