import type { NodeInfo } from './node-info.js';

/** Why a node left: an explicit delete, a missed TTL, or another instance took its id. */
export type LeaveReason = 'unregistered' | 'expired' | 'replaced';

/**
 * One change in the membership, as a watcher receives it. Per node, events come in order,
 * with no duplicates and nothing after `left` until a new `joined`.
 */
export type NodeChangeEvent =
  | { readonly type: 'joined'; readonly node: NodeInfo }
  | { readonly type: 'updated'; readonly node: NodeInfo; readonly previous: NodeInfo }
  | { readonly type: 'left'; readonly node: NodeInfo; readonly reason: LeaveReason };
