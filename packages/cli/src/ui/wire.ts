import type { NodeInfo } from '@roster/core';

// What the dashboard's server sends its page (JSON over HTTP and Server-Sent Events). Shared by
// the server modules and the page's script, so both sides agree on one shape.

/** Whether the CLI process currently reaches the backend (its discovery keeps retrying meanwhile). */
export type BackendStatus = 'connected' | 'reconnecting' | 'closed';

/** One membership change as the dashboard logged it. */
export interface UiEvent {
  /** Grows by one per logged event: the page drops what it already has. */
  readonly seq: number;
  /** Epoch ms (the CLI's clock) when the CLI's watch delivered it. */
  readonly at: number;
  readonly type: 'joined' | 'updated' | 'left';
  readonly reason?: 'unregistered' | 'expired' | 'replaced';
  readonly node: NodeInfo;
  readonly previous?: NodeInfo;
}

/** The backend's reachability, with when it last changed and why. */
export interface UiStatus {
  readonly status: BackendStatus;
  /** Epoch ms of the last change of `status`. */
  readonly since: number;
  /** The last probe's error while reconnecting. */
  readonly detail?: string;
}

/** Everything the page needs to draw itself from scratch (sent first on every event stream). */
export interface UiSnapshot {
  /** `nats at 127.0.0.1:4222` (never a password). */
  readonly backend: string;
  readonly backendName: string;
  readonly namespace: string;
  readonly ttl: number;
  /** `--allow-actions`: the page may unregister nodes. */
  readonly actions: boolean;
  /** The CLI's clock when the snapshot was taken: the page measures ages against it, not its own. */
  readonly serverNow: number;
  /** When the dashboard's watch started, and how many nodes were there then (not logged as joins). */
  readonly watchingSince: number;
  readonly presentAtStart: number;
  readonly status: UiStatus;
  /** The view, sorted by id. */
  readonly nodes: readonly NodeInfo[];
  /** The most recent events, oldest first (at most {@link EVENT_LOG_SIZE}). */
  readonly events: readonly UiEvent[];
}

/** How many events the server keeps for a page that connects (or reconnects) later. */
export const EVENT_LOG_SIZE = 500;
