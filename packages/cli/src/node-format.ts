import type { NodeChangeEvent, NodeInfo } from '@roster/core';
import type { Terminal } from './terminal.js';
import { clockTime, duration, relativeTime } from './time-format.js';

export const NODE_TABLE_HEADER = ['ID', 'ADDRESS', 'LOAD', 'AGE', 'LAST SEEN', 'METADATA'] as const;

/** Load with at most two decimals: `0`, `0.25`, `12.5`. */
export function formatLoad(load: number): string {
  return String(Math.round(load * 100) / 100);
}

/** `role=api zone=eu-1`, keys sorted, or `-`. */
export function formatMetadata(metadata: Readonly<Record<string, string>>): string {
  const keys = Object.keys(metadata).sort();
  return keys.length === 0 ? '-' : keys.map((key) => `${key}=${metadata[key]}`).join(' ');
}

export function nodeRow(node: NodeInfo, now: number): string[] {
  return [
    node.id,
    node.address ?? '-',
    formatLoad(node.load),
    duration(Math.max(0, now - node.registeredAt)),
    relativeTime(node.lastSeen, now),
    formatMetadata(node.metadata),
  ];
}

/** What changed between two versions of a node, beyond `lastSeen`: `load 0.2 → 0.5, zone=eu → us`. */
export function describeChange(previous: NodeInfo, node: NodeInfo): string {
  const changes: string[] = [];
  if (previous.load !== node.load)
    changes.push(`load ${formatLoad(previous.load)} → ${formatLoad(node.load)}`);
  if (previous.address !== node.address)
    changes.push(`address ${previous.address ?? '-'} → ${node.address ?? '-'}`);
  const keys = new Set([...Object.keys(previous.metadata), ...Object.keys(node.metadata)]);
  for (const key of [...keys].sort()) {
    const before = previous.metadata[key];
    const after = node.metadata[key];
    if (before !== after) changes.push(`${key}=${before ?? '∅'} → ${after ?? '∅'}`);
  }
  if (previous.instanceId !== node.instanceId) changes.push('new instance');
  return changes.length > 0 ? changes.join(', ') : 'refreshed';
}

const TYPE_STYLE = { joined: 'green', updated: 'cyan', left: 'red' } as const;

/**
 * One human line per event:
 * `14:03:07.215  joined   api-1  10.0.0.5:8080  load 0.2  role=api`.
 */
export function eventLine(
  out: Terminal,
  event: NodeChangeEvent,
  at: number,
  { idWidth = 0, time = clockTime(at) }: { idWidth?: number; time?: string } = {},
): string {
  const stamp = out.paint('gray', time);
  const type = out.paint(TYPE_STYLE[event.type], event.type.padEnd(7));
  const id = out.paint('bold', event.node.id.padEnd(idWidth));
  let detail: string;
  switch (event.type) {
    case 'joined':
      detail = [
        event.node.address ?? '',
        `load ${formatLoad(event.node.load)}`,
        Object.keys(event.node.metadata).length > 0 ? formatMetadata(event.node.metadata) : '',
      ]
        .filter(Boolean)
        .join('  ');
      break;
    case 'updated':
      detail = describeChange(event.previous, event.node);
      break;
    case 'left':
      detail =
        event.reason === 'expired'
          ? `${out.paint('yellow', 'expired')} (no heartbeat for ${duration(Math.max(0, at - event.node.lastSeen))})`
          : event.reason;
      break;
  }
  return `${stamp}  ${type}  ${id}  ${detail}`;
}

/** The NDJSON form of an event: the event itself plus `at` (epoch ms when this process saw it). */
export function eventJson(event: NodeChangeEvent, at: number): Record<string, unknown> {
  return { at, ...event };
}

/** `get`'s human form: one `field: value` per line. */
export function nodeDetails(out: Terminal, node: NodeInfo, now: number): string[] {
  const rows: [string, string][] = [
    ['id', out.paint('bold', node.id)],
    ['address', node.address ?? '-'],
    ['load', formatLoad(node.load)],
    ['metadata', formatMetadata(node.metadata)],
    ['instance', node.instanceId],
    ['registered', `${new Date(node.registeredAt).toISOString()} (${relativeTime(node.registeredAt, now)})`],
    ['last seen', `${new Date(node.lastSeen).toISOString()} (${relativeTime(node.lastSeen, now)})`],
  ];
  return rows.map(([field, value]) => `${out.paint('dim', `${field}:`.padEnd(12))}${value}`);
}
