import { type BackendDiff, copyRecords, diffBackends, followRecords } from '@roster/core';
import { UsageError } from '../cli-error.js';
import type { Command, CommandContext } from '../command.js';

export const migrate: Command = {
  name: 'migrate',
  writes: true,
  summary: 'copy every live node from one backend to another, optionally following changes',
  usage: 'roster migrate --from URL --to URL [--follow] [--verify] [--verify-only] [--json]',
  description:
    'Records are copied byte for byte, so instanceId and registeredAt survive the move. Each copy\n' +
    'restarts the TTL in the target: keep following (--follow, until Ctrl-C) or dual-write with\n' +
    'mirrorBackend until the owners write to the new backend themselves. --verify compares both\n' +
    'views at the end and exits 1 when they differ. --ttl must be the namespace’s TTL on both sides.',
  options: {
    from: { type: 'string', value: 'URL', description: 'the backend to copy from' },
    to: { type: 'string', value: 'URL', description: 'the backend to copy into' },
    follow: { type: 'boolean', description: 'after the copy, keep applying changes until Ctrl-C' },
    verify: { type: 'boolean', description: 'compare both views at the end; exit 1 when they differ' },
    'verify-only': { type: 'boolean', description: 'only compare, copy nothing' },
  },
  examples: [
    'roster migrate --from "redis://10.0.0.7:6379?namespace=prod" --to "nats://10.0.0.9:4222?namespace=prod" --verify',
    'roster migrate --from etcd://127.0.0.1:2379 --to nats://127.0.0.1:4222 --follow',
  ],
  async run(context) {
    const fromUrl = context.args.string('from');
    const toUrl = context.args.string('to');
    if (!fromUrl || !toUrl)
      throw new UsageError('migrate needs --from URL and --to URL', 'run `roster migrate --help`');
    const from = await context.openBackend(fromUrl);
    const to = await context.openBackend(toUrl);
    const verifyOnly = context.args.flag('verify-only');
    if (!verifyOnly) {
      context.progress.start('copying …', 200);
      const result = await copyRecords(from, to, {
        onProgress: (copied, total) => context.progress.update(`copying ${copied}/${total} …`),
      });
      context.progress.stop();
      report(
        context,
        { event: 'copied', copied: result.copied, skipped: result.skipped },
        `copied ${count(result.copied, 'node')}${result.skipped > 0 ? ` (${result.skipped} skipped: not valid records)` : ''}`,
      );
      if (context.args.flag('follow')) {
        if (!context.json) context.err.line(context.err.paint('dim', 'following changes; Ctrl-C stops'));
        let applied = 0;
        await followRecords(from, to, result.cursor, {
          signal: context.interrupt,
          // A source with silent heartbeats (etcd, Redis) needs it to keep the copies alive.
          ttl: context.ttl(),
          onChange: (change) => {
            applied += 1;
            if (context.json) context.out.line(JSON.stringify({ event: change.type, id: change.key }));
          },
        });
        report(context, { event: 'followed', changes: applied }, `followed ${count(applied, 'change')}`);
      }
    }
    if (context.args.flag('verify') || verifyOnly) {
      const diff = await diffBackends(from, to);
      printDiff(context, diff);
      return diff.equal ? 0 : 1;
    }
    return 0;
  },
};

/** One line: NDJSON with --json, else `text` with its first word in green. */
function report(context: CommandContext, fields: Record<string, unknown>, text: string): void {
  if (context.json) {
    context.out.line(JSON.stringify(fields));
    return;
  }
  const [first = '', ...rest] = text.split(' ');
  context.out.line([context.out.paint('green', first), ...rest].join(' '));
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function printDiff(context: CommandContext, diff: BackendDiff): void {
  if (context.json) {
    context.out.line(
      JSON.stringify({
        event: 'verified',
        equal: diff.equal,
        missing: diff.missing,
        extra: diff.extra,
        changed: diff.changed.map((c) => c.id),
      }),
    );
    return;
  }
  const out = context.out;
  if (diff.equal) {
    out.line(`${out.paint('green', 'verified')} both backends hold the same nodes`);
    return;
  }
  out.line(`${out.paint('red', 'differences')} between the two backends:`);
  for (const id of diff.missing) out.line(`  missing in the target: ${id}`);
  for (const id of diff.extra) out.line(`  only in the target:    ${id}`);
  for (const { id, expected, actual } of diff.changed)
    out.line(
      `  differs: ${id} (instance ${expected.instanceId.slice(0, 8)} vs ${actual.instanceId.slice(0, 8)})`,
    );
}
