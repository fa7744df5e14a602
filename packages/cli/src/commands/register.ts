import type { NodeRegistration } from '@roster/core';
import { describeTarget } from '../backend-url.js';
import type { Command } from '../command.js';
import { untilInterrupted } from '../interrupted.js';
import { formatLoad, formatMetadata } from '../node-format.js';
import { duration } from '../time-format.js';

export const register: Command = {
  name: 'register',
  writes: true,
  summary: 'register a node and keep it alive until Ctrl-C, then unregister it',
  usage: 'roster register <id> [--address host:port] [--meta k=v ...] [--load x] [--ttl ms]',
  description:
    'Handy to try a cluster by hand: the node heartbeats every ttl/3 while the command runs.\nCtrl-C (or SIGTERM) unregisters it, and every watcher sees it leave (unregistered).\nIf the process is killed instead, watchers see it expire after the TTL.',
  arguments: 1,
  options: {
    address: { type: 'string', value: 'host:port', description: 'how peers reach the node' },
    meta: { type: 'string', multiple: true, value: 'k=v', description: 'a metadata pair (repeat for more)' },
    load: { type: 'string', value: 'x', description: 'load, a number >= 0 (default 0)' },
  },
  examples: [
    'roster register api-1 --address 127.0.0.1:8080 --meta role=api --meta zone=eu-1',
    'roster register worker-7 --load 0.4 --ttl 5000 --url etcd://127.0.0.1:2379',
  ],
  async run(context) {
    const { out, err, args } = context;
    const id = args.required(0, 'the node id', 'roster register <id>');
    const address = args.string('address');
    const load = args.number('load', { min: 0 });
    const registration: NodeRegistration = {
      id,
      ...(address !== undefined ? { address } : {}),
      metadata: args.pairs('meta'),
      ...(load !== undefined ? { load } : {}),
    };
    const discovery = await context.connect({
      onOwnNodeLost: (node, reason) =>
        err.line(err.paint('yellow', `roster: warn: ${node.id} was lost (${reason}); registering it again`)),
    });
    const node = await discovery.register(registration);
    if (context.json) out.line(JSON.stringify({ event: 'registered', node }));
    else {
      const ttl = Number(args.string('ttl') ?? context.env.ROSTER_TTL ?? 10_000);
      out.line(
        `${out.paint('green', 'registered')} ${out.paint('bold', node.id)}${node.address ? ` at ${node.address}` : ''}` +
          ` load ${formatLoad(node.load)}` +
          (Object.keys(node.metadata).length > 0 ? ` ${formatMetadata(node.metadata)}` : ''),
      );
      err.line(
        err.paint(
          'dim',
          `instance ${node.instanceId} on ${describeTarget(context.target())}, namespace ${context.namespace()}; ` +
            `heartbeat every ~${duration(ttl / 3)} (ttl ${duration(ttl)}) — Ctrl-C to unregister`,
        ),
      );
    }
    await untilInterrupted(context.interrupt);
    await discovery.close();
    if (context.json) out.line(JSON.stringify({ event: 'unregistered', id: node.id }));
    else out.line(`${out.paint('red', 'unregistered')} ${out.paint('bold', node.id)}`);
    return 0;
  },
};
