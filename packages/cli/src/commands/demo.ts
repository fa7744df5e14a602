import { randomBytes } from 'node:crypto';
import type { NodeDiscovery, NodeInfo } from '@roster/core';
import { describeTarget } from '../backend-url.js';
import { CliError, EXIT_INTERRUPTED } from '../cli-error.js';
import type { Command, CommandContext } from '../command.js';
import { EventLog } from '../event-log.js';
import { keepAlive, untilInterrupted } from '../interrupted.js';
import { eventJson, eventLine, formatLoad, NODE_TABLE_HEADER, nodeRow } from '../node-format.js';
import { renderTable } from '../table.js';
import { duration } from '../time-format.js';
import { openBrowser } from '../ui/open-browser.js';
import { type Dashboard, startDashboard } from '../ui/start-dashboard.js';

const DEMO_TTL = 2_000;
const ROLES = [
  { role: 'api', port: 8080 },
  { role: 'worker', port: 9000 },
  { role: 'cache', port: 6380 },
] as const;
const ZONES = ['eu-1', 'us-1'] as const;

interface DemoNode {
  id: string;
  discovery: NodeDiscovery;
}

export const demo: Command = {
  name: 'demo',
  writes: true,
  summary: 'watch a small cluster live: nodes join, report load, one crashes, one leaves',
  usage: 'roster demo [--url URL] [--nodes N] [--duration s] [--ui]',
  description:
    'Runs a cluster in this process, one discovery instance per node (as if each were its own\nprocess), on any backend, plus a watcher that prints every event. A node crashes (it stops\nheartbeating without unregistering) and is seen to expire after the TTL; another leaves\ngracefully. Ends with the membership table. Uses its own namespace (demo-xxxxxx) unless\nthe URL or --namespace names one, and a 2 s TTL unless --ttl says otherwise.\nWith --ui, the live dashboard (roster ui) serves the demo cluster on a free port of\n127.0.0.1, opens in the browser (BROWSER=none: it does not), and stays up after the story\nuntil Ctrl-C.',
  options: {
    nodes: { type: 'string', value: 'N', description: 'how many nodes (3-50, default 4)' },
    duration: {
      type: 'string',
      value: 's',
      description: 'seconds of load reports before the crash (default 3)',
    },
    ui: { type: 'boolean', description: 'watch it in the browser too: serves and opens `roster ui` on it' },
  },
  examples: [
    'roster demo',
    'roster demo --url nats://127.0.0.1:4222 --nodes 6',
    'roster demo --url redis://127.0.0.1:6379 --duration 5 --ttl 3000',
    'roster demo --ui --duration 20',
  ],
  run: runDemo,
};

async function runDemo(context: CommandContext): Promise<number> {
  const { args, out, err, interrupt } = context;
  const count = args.number('nodes', { min: 3, max: 50, integer: true }) ?? 4;
  const loadPhase = (args.number('duration', { min: 0, max: 600 }) ?? 3) * 1_000;
  const ttl = args.number('ttl', { min: 1_000, integer: true }) ?? DEMO_TTL;
  const namespace =
    args.string('namespace') ?? context.target().namespace ?? `demo-${randomBytes(3).toString('hex')}`;
  // In --json mode stdout carries only events; the story goes to stderr.
  const story = context.json ? err : out;
  const start = context.now();
  const elapsed = (at: number) => `+${((at - start) / 1_000).toFixed(2).padStart(5)}s`;
  const say = (text: string) => {
    context.progress.stop();
    story.line(`${story.paint('gray', elapsed(context.now()))}  ${story.paint('bold', `▸ ${text}`)}`);
  };

  story.line(
    story.paint('bold', `Roster demo: ${count} nodes on ${describeTarget(context.target())}`) +
      story.paint('dim', ` (namespace ${namespace}, ttl ${duration(ttl)})`),
  );
  const stopped = new AbortController();
  const done = AbortSignal.any([interrupt, stopped.signal]);

  const observer = await context.connect({ ttl, namespace });
  let dashboard: Dashboard | undefined;
  if (args.flag('ui')) {
    dashboard = await startDashboard({
      discovery: observer,
      backend: describeTarget(context.target()),
      namespace,
      ttl,
      host: '127.0.0.1',
      port: 0,
      allowActions: false,
      now: context.now,
    });
    story.line(`${story.paint('bold', 'Dashboard:')} ${dashboard.url}`);
    const failed = await openBrowser(dashboard.url, context.env);
    if (failed) story.line(story.paint('dim', `(could not open a browser: ${failed}; open the URL above)`));
    // Give the browser a moment to load the page, so that it sees the nodes join.
    else await pause(2_000, interrupt);
  }
  const log = new EventLog();
  const idWidth = Math.max(...plan(count).map((p) => p.id.length));
  const watching = (async () => {
    for await (const event of observer.watch({ signal: done, includeExisting: true })) {
      const at = context.now();
      log.add(event, at);
      context.progress.stop();
      if (context.json) out.line(JSON.stringify(eventJson(event, at)));
      else out.line(eventLine(out, event, at, { idWidth, time: elapsed(at) }));
    }
  })();

  const nodes: DemoNode[] = [];
  let storyDone = false;
  const work = async (): Promise<number> => {
    say(`${count} nodes start, each with its own connection, and register with metadata and load`);
    for (const planned of plan(count)) {
      if (interrupt.aborted) return EXIT_INTERRUPTED;
      const discovery = await context.connect({ ttl, namespace });
      await discovery.register(planned);
      nodes.push({ id: planned.id, discovery });
      await pause(150, interrupt);
    }
    for (const node of nodes)
      await expectEvent(
        log,
        (e) => e.type === 'joined' && e.node.id === node.id,
        5_000,
        interrupt,
        `${node.id} to join`,
      );

    say(
      `they heartbeat every ~${duration(ttl / 3)}; plain heartbeats are silent, a load change is \`updated\``,
    );
    const reporting = reportLoad(nodes, done);
    await pause(loadPhase, interrupt);

    const victim = nodes[1]!;
    const lastBeat = observer.get(victim.id)?.lastSeen ?? context.now();
    say(`${victim.id} crashes: its process stops heartbeating and never unregisters`);
    nodes.splice(1, 1);
    await victim.discovery.close({ unregister: false });
    const bound = ttl + Math.max(1_000, ttl / 4);
    context.progress.start(`waiting for ${victim.id} to expire (ttl ${duration(ttl)}) …`);
    const ticker = setInterval(
      () =>
        context.progress.update(
          `waiting for ${victim.id} to expire: ${duration(context.now() - lastBeat)} since its last heartbeat (ttl ${duration(ttl)})`,
        ),
      200,
    );
    try {
      await expectEvent(
        log,
        (e) => e.type === 'left' && e.node.id === victim.id,
        bound + 5_000,
        interrupt,
        `${victim.id} to expire`,
      );
    } finally {
      clearInterval(ticker);
      context.progress.stop();
    }

    const leaver = nodes[1]!;
    say(`${leaver.id} shuts down gracefully: it unregisters on the way out`);
    nodes.splice(1, 1);
    await leaver.discovery.close();
    await expectEvent(
      log,
      (e) => e.type === 'left' && e.node.id === leaver.id,
      5_000,
      interrupt,
      `${leaver.id} to leave`,
    );

    stopped.abort();
    await reporting;
    await watching;
    summarize(context, story, observer.list(), log);
    storyDone = true;
    if (dashboard) {
      story.line('');
      story.line(`The dashboard stays up at ${dashboard.url} — Ctrl-C to stop.`);
      await untilInterrupted(interrupt);
    }
    return 0;
  };

  try {
    const code = await keepAlive(work());
    if (interrupt.aborted && !storyDone) {
      err.line('roster: demo interrupted');
      return EXIT_INTERRUPTED;
    }
    return code;
  } finally {
    stopped.abort();
    await watching.catch(() => {});
    await dashboard?.close();
  }
}

/** The cluster: roles in turn (api, worker, cache), two zones, addresses on a made-up subnet. */
function plan(
  count: number,
): { id: string; address: string; metadata: Record<string, string>; load: number }[] {
  const seen = new Map<string, number>();
  return Array.from({ length: count }, (_, index) => {
    const { role, port } = ROLES[index % ROLES.length]!;
    const n = (seen.get(role) ?? 0) + 1;
    seen.set(role, n);
    return {
      id: `${role}-${n}`,
      address: `10.0.0.${11 + index}:${port}`,
      metadata: { role, zone: ZONES[index % ZONES.length]!, version: '1.4.2' },
      load: round(0.1 + Math.random() * 0.3),
    };
  });
}

/** Every ~700 ms one node reports a new load (a random walk), as a busy service would. */
async function reportLoad(nodes: DemoNode[], signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await pause(500 + Math.random() * 400, signal);
    if (signal.aborted || nodes.length === 0) return;
    const node = nodes[Math.floor(Math.random() * nodes.length)]!;
    const current = node.discovery.get(node.id)?.load ?? 0.5;
    const next = round(Math.min(0.95, Math.max(0.05, current + (Math.random() - 0.5) * 0.3)));
    // A node that just left (crash or shutdown) throws here; the story goes on without it.
    await node.discovery.heartbeat(node.id, next === current ? round(next + 0.05) : next).catch(() => {});
  }
}

async function expectEvent(
  log: EventLog,
  predicate: Parameters<EventLog['waitFor']>[0],
  timeoutMs: number,
  interrupt: AbortSignal,
  what: string,
): Promise<void> {
  const hit = await log.waitFor(predicate, timeoutMs, interrupt);
  if (!hit && !interrupt.aborted)
    throw new CliError(`the watcher did not see ${what} within ${duration(timeoutMs)}`, {
      hint: 'the backend is slow or dropping events; run again with --verbose',
    });
}

function summarize(
  context: CommandContext,
  story: CommandContext['out'],
  members: NodeInfo[],
  log: EventLog,
): void {
  const now = context.now();
  const joined = log.count((e) => e.type === 'joined');
  const updated = log.count((e) => e.type === 'updated');
  const expired = log.count((e) => e.type === 'left' && e.reason === 'expired');
  const unregistered = log.count((e) => e.type === 'left' && e.reason === 'unregistered');
  story.line('');
  story.line(story.paint('bold', `Membership at the end (${members.length} nodes):`));
  for (const line of renderTable(
    story,
    NODE_TABLE_HEADER,
    members.map((node) => nodeRow(node, now)),
  ))
    story.line(`  ${line}`);
  story.line('');
  story.line(
    `Events seen: ${joined} joined, ${updated} updated, ${expired + unregistered} left ` +
      `(${expired} expired, ${unregistered} unregistered). Average load ${formatLoad(
        members.reduce((sum, node) => sum + node.load, 0) / Math.max(1, members.length),
      )}.`,
  );
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
