// The dashboard page's node table: one row per node the filter lets through, with its load bar,
// ages, and the unregister button (two clicks) and its request. Runs in the browser (see
// ../page-script.ts): self-contained.
import type { NodeInfo } from '@roster/core';
import type { EventLog } from './event-log.js';
import type { NodeFilter } from './node-filter.js';
import type { PageApi } from './page-api.js';
import type { PageKit } from './page-kit.js';
import type { PageState } from './page-state.js';

export interface NodeTable {
  render(): void;
}

/** `select` runs when a row is clicked (its history is shown). */
export function nodeTable(
  state: PageState,
  kit: PageKit,
  filter: NodeFilter,
  api: PageApi,
  log: EventLog,
  select: (id: string) => void,
): NodeTable {
  const { byId, make, str, num, metadataOf, ago, loadText } = kit;
  const { nodes, armed, flashing } = state;

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
    if (id === state.selected) row.classList.add('selected');
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
    if (state.meta?.actions) {
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
    row.addEventListener('click', () => select(id));
    return row;
  }

  function render(): void {
    const query = filter.parse();
    const body = byId('nodes').querySelector('tbody');
    if (!body) return;
    const rows: HTMLTableRowElement[] = [];
    const ids = [...nodes.keys()].sort();
    for (const id of ids) {
      const node = nodes.get(id);
      if (!node) continue;
      try {
        if (filter.matches(node, query)) rows.push(nodeRow(node));
      } catch (error) {
        console.warn('roster: cannot show node', id, error);
      }
    }
    body.replaceChildren(...rows);
    const filtered = query.pairs.length > 0 || query.words.length > 0;
    byId('shown').textContent = filtered ? `${rows.length} of ${nodes.size} shown` : '';
    byId('empty').hidden = rows.length > 0;
    byId('empty').textContent = filtered && nodes.size > 0 ? 'No node matches the filter.' : 'No nodes.';
    flashing.clear();
  }

  async function unregister(id: string): Promise<void> {
    try {
      const response = await api(`/api/nodes/${encodeURIComponent(id)}/unregister`, {
        method: 'POST',
        headers: { 'X-Roster-Action': 'unregister' },
      });
      if (!response.ok) {
        const payload = (await response.json().catch(() => ({}))) as { error?: string };
        log.notice(`unregister ${id} failed: ${payload.error ?? `HTTP ${response.status}`}`);
      }
    } catch (error) {
      log.notice(`unregister ${id} failed: ${String(error)}`);
    }
    render();
  }

  return { render };
}
