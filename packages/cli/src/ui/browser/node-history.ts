// The dashboard page's history panel: the states of the selected node, current first.
// Runs in the browser (see ../page-script.ts): self-contained.
import type { NodeInfo } from '@roster/core';
import type { NodeTable } from './node-table.js';
import type { PageApi } from './page-api.js';
import type { PageKit } from './page-kit.js';
import type { PageState } from './page-state.js';

export interface NodeHistory {
  /** Selects `id` and loads its history into the panel. */
  show(id: string): Promise<void>;
  /** Whether the panel is open. */
  isOpen(): boolean;
}

/** `table` is drawn anew when the selection changes (the selected row is marked). */
export function nodeHistory(state: PageState, kit: PageKit, api: PageApi, table: NodeTable): NodeHistory {
  const { byId, make, str, num, metadataOf, ago, clock, loadText } = kit;

  async function show(id: string): Promise<void> {
    state.selected = id;
    table.render();
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
      if (state.selected !== id) return;
      if (!response.ok || !Array.isArray(payload.states)) {
        note.textContent = payload.error ?? `history unavailable (HTTP ${response.status})`;
        return;
      }
      note.textContent =
        payload.states.length === 0
          ? 'No history for this node.'
          : 'Current state first, then earlier ones (plain heartbeats are not history entries).';
      const alive = state.nodes.has(id);
      body?.replaceChildren(
        ...payload.states.map((entry, index) => {
          const row = document.createElement('tr');
          row.append(
            make('td', '', index === 0 ? (alive ? 'current' : 'last') : `-${index}`),
            make('td', '', `${clock(num(entry.lastSeen))} (${ago(num(entry.lastSeen))})`),
            make('td', 'address', str(entry.address) || '–'),
            make('td', '', loadText(num(entry.load))),
            make('td', '', str(entry.instanceId).slice(0, 8)),
            make(
              'td',
              '',
              metadataOf(entry)
                .map(([k, v]) => `${k}=${v}`)
                .join(' '),
            ),
          );
          return row;
        }),
      );
    } catch (error) {
      if (state.selected === id) note.textContent = `history unavailable: ${String(error)}`;
    }
  }

  byId('history-close').addEventListener('click', () => {
    state.selected = undefined;
    byId('history').hidden = true;
    table.render();
  });
  return { show, isOpen: () => !byId('history').hidden };
}
