import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { formatLoad, formatMetadata } from '../node-format.js';
import { absentNamespace } from '../read-only-connect.js';
import { renderTable } from '../table.js';
import { clockTime, relativeTime } from '../time-format.js';

export const history: Command = {
  name: 'history',
  summary: 'show the earlier states of a node (backends with history: memory, nats, …)',
  usage: 'roster history <id> [--limit n] [--json]',
  description:
    'The current state first, then earlier ones, newest first. Plain heartbeats are not\nhistory entries: only changes of address, load, metadata or instance are.',
  arguments: 1,
  options: {
    limit: { type: 'string', value: 'n', description: 'at most n states (default 10)' },
  },
  examples: ['roster history api-1', 'roster history api-1 --limit 3 --json'],
  async run(context) {
    const id = context.args.required(0, 'the node id', 'roster history <id>');
    const limit = context.args.number('limit', { min: 1, max: 1_000, integer: true }) ?? 10;
    const discovery = await context.connectReadOnly();
    // An absent namespace has no history: the same answer as for an id it never held.
    const states = discovery ? await discovery.history(id, limit) : [];
    if (states.length === 0)
      throw new CliError(`no history for "${id}" in namespace ${context.namespace()}`, {
        hint: `\`roster ls\` lists the registered nodes${discovery ? '' : absentNamespace(context.namespace())}`,
      });
    if (context.json) {
      for (const state of states) context.out.line(JSON.stringify(state));
      return 0;
    }
    const now = context.now();
    const alive = discovery?.get(id) !== undefined;
    const rows = states.map((state, index) => [
      index === 0 ? (alive ? 'current' : 'last') : `-${index}`,
      `${clockTime(state.lastSeen)} (${relativeTime(state.lastSeen, now)})`,
      state.address ?? '-',
      formatLoad(state.load),
      state.instanceId.slice(0, 8),
      formatMetadata(state.metadata),
    ]);
    const header = ['', 'WRITTEN', 'ADDRESS', 'LOAD', 'INSTANCE', 'METADATA'];
    for (const line of renderTable(context.out, header, rows)) context.out.line(line);
    return 0;
  },
};
