import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { nodeDetails } from '../node-format.js';
import { absentNamespace } from '../read-only-connect.js';

export const get: Command = {
  name: 'get',
  summary: 'show one node',
  usage: 'roster get <id> [--json]',
  arguments: 1,
  options: {},
  examples: ['roster get api-1', 'roster get api-1 --json | jq .metadata'],
  async run(context) {
    const id = context.args.required(0, 'the node id', 'roster get <id>');
    const discovery = await context.connectReadOnly();
    const node = discovery?.get(id);
    if (!node)
      throw new CliError(`no node "${id}" in namespace ${context.namespace()}`, {
        hint: `\`roster ls\` lists the registered nodes${discovery ? '' : absentNamespace(context.namespace())}`,
      });
    if (context.json) context.out.line(JSON.stringify(node));
    else for (const line of nodeDetails(context.out, node, context.now())) context.out.line(line);
    return 0;
  },
};
