import type { NodeChangeEvent } from '@roster/core';
import { describeTarget } from '../backend-url.js';
import { CliError } from '../cli-error.js';
import type { Command } from '../command.js';
import { FILTER_OPTION } from '../global-options.js';
import { keepAlive } from '../interrupted.js';
import { eventJson, eventLine } from '../node-format.js';
import { connectWhenPresent } from '../wait-for-namespace.js';

export const watch: Command = {
  name: 'watch',
  summary: 'stream membership changes as they happen (Ctrl-C to stop)',
  usage: 'roster watch [--filter k=v ...] [--no-existing] [--json]',
  description:
    'First a `joined` for every current node (unless --no-existing), then every change: joined,\nupdated (load, address or metadata changed), left (unregistered, expired or replaced).\nWith --json, one event per line: {"at":…,"type":…,"node":{…},"previous"|"reason":…}.\nA namespace that does not exist yet is waited for (looked up once a second, never created).',
  options: {
    ...FILTER_OPTION,
    'no-existing': { type: 'boolean', description: 'skip the nodes already registered; only new changes' },
  },
  examples: [
    'roster watch --url "redis://127.0.0.1:6379?namespace=prod"',
    'roster watch --filter role=api --no-existing',
    'roster watch --json | jq -c \'select(.type == "left")\'',
  ],
  async run(context) {
    const { out, err } = context;
    // Never creates the namespace: an absent one is waited for, looked up once a second.
    const discovery = await connectWhenPresent(context);
    // Interrupted while waiting: nothing to watch, and Ctrl-C is a normal way to stop.
    if (!discovery) return 0;
    if (!context.json)
      err.line(
        err.paint(
          'dim',
          `watching ${describeTarget(context.target())}, namespace ${context.namespace()} — Ctrl-C to stop`,
        ),
      );
    let idWidth = 10;
    const events = discovery.watch({
      signal: context.interrupt,
      includeExisting: !context.args.flag('no-existing'),
      ...(context.filter() ? { filter: context.filter() } : {}),
    });
    await keepAlive(
      (async () => {
        for await (const event of events as AsyncIterable<NodeChangeEvent>) {
          const at = context.now();
          if (context.json) out.line(JSON.stringify(eventJson(event, at)));
          else {
            idWidth = Math.max(idWidth, event.node.id.length);
            out.line(eventLine(out, event, at, { idWidth }));
          }
        }
      })(),
    );
    if (!context.interrupt.aborted)
      throw new CliError('the watch ended: the connection to the backend was closed', {
        hint: 'run roster watch again; --verbose shows what the library reported',
      });
    return 0;
  },
};
