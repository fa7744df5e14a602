// The dashboard page's event log: newest first, each change described (what moved, from what to
// what), and notices. Runs in the browser (see ../page-script.ts): self-contained.
import type { UiEvent } from '../wire.js';
import type { PageKit } from './page-kit.js';
import type { PageState } from './page-state.js';

export interface EventLog {
  /** Draws every event of the state anew. */
  render(): void;
  /** Adds one new event on top. */
  prepend(event: UiEvent): void;
  /** A line of the page's own (a failed action) on top. */
  notice(text: string): void;
}

export function eventLog(state: PageState, kit: PageKit): EventLog {
  const { byId, make, str, num, metadataOf, clock, loadText } = kit;

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

  function render(): void {
    const list = byId('events');
    const items: HTMLElement[] = [];
    for (let index = state.events.length - 1; index >= 0; index--) {
      const event = state.events[index];
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

  function prepend(event: UiEvent): void {
    const list = byId('events');
    list.querySelector('li.notice')?.remove();
    list.prepend(eventItem(event));
    while (list.children.length > state.maxEvents) list.lastElementChild?.remove();
  }

  function notice(text: string): void {
    byId('events').prepend(make('li', 'notice', text));
  }

  return { render, prepend, notice };
}
