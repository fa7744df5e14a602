import type { Command } from '../command.js';
import { FILTER_OPTION } from '../global-options.js';
import { NODE_TABLE_HEADER, nodeRow } from '../node-format.js';
import { renderTable } from '../table.js';

export const ls: Command = {
  name: 'ls',
  summary: 'list the nodes registered in a namespace',
  usage: 'roster ls [--filter k=v ...] [--json]',
  description:
    'A table sorted by id: address, load, age (since it registered), last heartbeat, metadata.\nWith --json, one NodeInfo object per line.\nNever creates the namespace: one that does not exist lists as empty.',
  options: FILTER_OPTION,
  examples: [
    'roster ls --url "nats://127.0.0.1:4222?namespace=prod"',
    'roster ls --filter role=api --filter zone=eu-1',
    "roster ls --json | jq -r 'select(.load < 0.5) | .address'",
  ],
  async run(context) {
    const { out } = context;
    // Never creates the namespace: an absent one lists as empty (see read-only-connect.ts).
    const discovery = await context.connectReadOnly();
    const nodes = discovery ? discovery.list(context.filter()) : [];
    if (context.json) {
      for (const node of nodes) out.line(JSON.stringify(node));
      return 0;
    }
    if (nodes.length === 0) {
      const filtered = context.filter() ? ' matching the filter' : '';
      const memory =
        context.target().kind === 'memory' ? '; memory: lives in one process, try `roster demo`' : '';
      context.err.line(
        discovery
          ? `no nodes${filtered} in namespace ${context.namespace()} (${context.target().kind}${memory})`
          : `no nodes in namespace ${context.namespace()} (it does not exist; ${context.target().kind}${memory})`,
      );
      return 0;
    }
    const now = context.now();
    for (const line of renderTable(
      out,
      NODE_TABLE_HEADER,
      nodes.map((node) => nodeRow(node, now)),
    ))
      out.line(line);
    return 0;
  },
};
