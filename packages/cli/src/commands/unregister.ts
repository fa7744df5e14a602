import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';

export const unregister: Command = {
  name: 'unregister',
  writes: true,
  summary: 'remove a node, whoever owns it (an operator’s force-leave)',
  usage: 'roster unregister <id> [--force] [--json]',
  description:
    'Watchers see the node leave (unregistered). A live owner finds its record gone at its next\nheartbeat and registers it again (the library’s default): stop that process to keep it out.',
  arguments: 1,
  options: {
    force: { type: 'boolean', description: 'delete the key even if no such node is listed' },
  },
  examples: [
    'roster unregister api-3',
    'roster unregister api-3 --url "etcd://127.0.0.1:2379?namespace=prod"',
  ],
  async run(context) {
    const id = context.args.required(0, 'the node id', 'roster unregister <id>');
    const discovery = await context.connect();
    const node = discovery.get(id);
    if (!node && !context.args.flag('force'))
      throw new CliError(`no node "${id}" in namespace ${context.namespace()}`, {
        hint: '`roster ls` lists the registered nodes; --force deletes the key anyway',
      });
    await discovery.unregister(id);
    if (context.json)
      context.out.line(JSON.stringify({ event: 'unregistered', id, ...(node ? { node } : {}) }));
    else
      context.out.line(
        `${context.out.paint('red', 'unregistered')} ${context.out.paint('bold', id)}` +
          (node ? context.out.paint('dim', ` (instance ${node.instanceId})`) : ''),
      );
    return 0;
  },
};
