// What the dashboard page knows: the nodes and events it shows, the stream's state, the selection.
// Runs in the browser (see ../page-script.ts): self-contained, nothing from this module's scope.
import type { NodeInfo } from '@roster/core';
import type { UiEvent, UiStatus } from '../wire.js';

/** What the snapshot says about the namespace and the `roster ui` process. */
export interface PageMeta {
  backend: string;
  namespace: string;
  ttl: number;
  actions: boolean;
  watchingSince: number;
  presentAtStart: number;
}

/** The page's own connection to `roster ui` (the backend's is `status`). */
export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'unauthorized';

/** The page's state, shared by its parts; each part renders from it. */
export interface PageState {
  /** Events kept and shown. */
  readonly maxEvents: number;
  readonly nodes: Map<string, NodeInfo>;
  events: UiEvent[];
  meta: PageMeta | undefined;
  status: UiStatus;
  stream: StreamState;
  /** The CLI's clock minus ours: ages are measured on the CLI's clock. */
  offset: number;
  /** When the stream last said anything (ours clock): a silent one is reopened. */
  lastMessage: number;
  /** The node whose history is shown. */
  selected: string | undefined;
  /** The last change applied: a change replayed after a reconnect is not applied twice. */
  lastSeq: number;
  /** Unregister buttons clicked once, with when: a second click within 4 s confirms. */
  readonly armed: Map<string, number>;
  /** Rows changed since the table was last drawn: drawn highlighted once. */
  readonly flashing: Set<string>;
}

export function pageState(): PageState {
  return {
    maxEvents: 500,
    nodes: new Map(),
    events: [],
    meta: undefined,
    status: { status: 'connected', since: Date.now() },
    stream: 'connecting',
    offset: 0,
    lastMessage: Date.now(),
    selected: undefined,
    lastSeq: 0,
    armed: new Map(),
    flashing: new Set(),
  };
}
