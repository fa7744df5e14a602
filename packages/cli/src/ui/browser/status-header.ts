// The dashboard page's header and banner: the namespace's facts, the counts, and whether the
// view is live. Runs in the browser (see ../page-script.ts): self-contained.
import type { PageKit } from './page-kit.js';
import type { PageState } from './page-state.js';

export interface StatusHeader {
  render(): void;
}

export function statusHeader(state: PageState, kit: PageKit): StatusHeader {
  const { byId, span, clock } = kit;
  function render(): void {
    const { meta, events, status, stream } = state;
    if (meta) {
      byId('backend').textContent = meta.backend;
      byId('namespace').textContent = meta.namespace;
      byId('ttl').textContent = span(meta.ttl);
      byId('since').textContent =
        `watching since ${clock(meta.watchingSince)}` +
        (meta.presentAtStart > 0 ? ` (${meta.presentAtStart} nodes were there)` : '');
    }
    byId('count').textContent = String(state.nodes.size);
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
  return { render };
}
