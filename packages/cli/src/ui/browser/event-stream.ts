// The dashboard page's connection to `roster ui`: the server-sent event stream (snapshot, changes,
// node refreshes, backend status, pings), reconnecting when it drops or goes silent, and the
// clock that ticks the ages. Runs in the browser (see ../page-script.ts): self-contained.
import type { NodeInfo } from '@roster/core';
import type { UiEvent, UiSnapshot, UiStatus } from '../wire.js';
import type { EventLog } from './event-log.js';
import type { NodeHistory } from './node-history.js';
import type { NodeTable } from './node-table.js';
import type { PageApi } from './page-api.js';
import type { PageKit } from './page-kit.js';
import type { PageState } from './page-state.js';
import type { StatusHeader } from './status-header.js';

/** The parts of the page the stream updates. */
export interface StreamViews {
  header: StatusHeader;
  table: NodeTable;
  log: EventLog;
  history: NodeHistory;
}

export interface EventStream {
  /** Opens the stream and starts the clock. */
  start(): void;
}

export function eventStream(state: PageState, kit: PageKit, api: PageApi, views: StreamViews): EventStream {
  const { str, num } = kit;
  const { header, table, log, history } = views;
  const { nodes } = state;
  let source: EventSource | undefined;

  function applySnapshot(snapshot: UiSnapshot): void {
    const meta = {
      backend: str(snapshot.backend),
      namespace: str(snapshot.namespace),
      ttl: num(snapshot.ttl),
      actions: snapshot.actions === true,
      watchingSince: num(snapshot.watchingSince),
      presentAtStart: num(snapshot.presentAtStart),
    };
    state.meta = meta;
    state.offset = num(snapshot.serverNow) - Date.now();
    state.status = snapshot.status;
    nodes.clear();
    for (const node of Array.isArray(snapshot.nodes) ? snapshot.nodes : [])
      if (node && typeof node.id === 'string') nodes.set(node.id, node);
    state.events = Array.isArray(snapshot.events) ? snapshot.events.slice(-state.maxEvents) : [];
    state.lastSeq = state.events.reduce((max, event) => Math.max(max, num(event.seq)), 0);
    document.title = `Roster · ${meta.namespace}`;
    header.render();
    table.render();
    log.render();
  }

  function applyChange(event: UiEvent): void {
    if (num(event.seq) <= state.lastSeq) return;
    state.lastSeq = num(event.seq);
    const id = str(event.node?.id);
    if (event.type === 'left') nodes.delete(id);
    else if (id) {
      nodes.set(id, event.node);
      state.flashing.add(id);
    }
    state.events.push(event);
    if (state.events.length > state.maxEvents) state.events.shift();
    header.render();
    table.render();
    log.prepend(event);
    if (state.selected === id && history.isOpen()) void history.show(id);
  }

  function on(kind: string, handle: (data: unknown) => void): void {
    source?.addEventListener(kind, (message) => {
      state.lastMessage = Date.now();
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
      state.stream = 'open';
      applySnapshot(data as UiSnapshot);
    });
    on('change', (data) => applyChange(data as UiEvent));
    on('node', (data) => {
      const node = data as NodeInfo;
      if (typeof node?.id !== 'string') return;
      nodes.set(node.id, node);
      header.render();
      table.render();
    });
    on('status', (data) => {
      state.status = data as UiStatus;
      header.render();
    });
    on('ping', (data) => {
      const serverNow = num((data as { serverNow?: unknown }).serverNow);
      if (serverNow > 0) state.offset = serverNow - Date.now();
    });
    source.addEventListener('error', () => {
      if (state.stream === 'unauthorized') return;
      state.stream = 'reconnecting';
      header.render();
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

  function start(): void {
    // Ages tick; a stream that has gone silent (the server sends a ping every few seconds) is
    // dropped and reopened, which also reloads the snapshot.
    setInterval(() => {
      if (state.stream === 'open' && Date.now() - state.lastMessage > 15_000) {
        state.stream = 'reconnecting';
        header.render();
        connect();
        return;
      }
      table.render();
    }, 1_000);
    connect();
  }

  return { start };
}
