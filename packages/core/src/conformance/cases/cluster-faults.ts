import { describe, it, type TestContext } from 'vitest';
import { decodeRecord } from '../../record-codec.js';
import { DEFAULT_TTL } from '../../resolve-options.js';
import type { NodeDiscovery } from '../../types/node-discovery.js';
import type { NodeInfo } from '../../types/node-info.js';
import type { NodeRegistration } from '../../types/node-registration.js';
import {
  PROPAGATION_BOUND,
  type Recorder,
  type SuiteContext,
  WAIT_LIMIT,
  waitFor,
  wellFormedProblem,
} from '../harness.js';

/**
 * Issue 12's target: after a failover, views converge within ttl + this. Counted here from the
 * moment the fault hook resolved (the new leader serves by then), which is later than the election.
 */
const CONVERGE_SLACK = 2_000;
/** An isolated member is frozen this much longer than the ttl: an owner stuck on it would expire. */
const ISOLATE_BEYOND_TTL = 1_000;
/** Owners besides the three watching instances. */
const EXTRA_OWNERS = 3;
/** What a failover may take on a loaded machine (kill, election, restart, catch-up): vitest's backstop only. */
const FAULT_ALLOWANCE = 90_000;

type ClusterFault = 'failover' | 'isolate';

const DESCRIBE: Record<ClusterFault, string> = {
  failover: 'the failover (leader killed)',
  isolate: 'the isolation (one member frozen beyond the ttl)',
};

/** `id@instanceId:load` per node, sorted by id: what a view must equal, instance for instance. */
function viewOf(d: NodeDiscovery): string {
  return d
    .list()
    .map((n) => `${n.id}@${n.instanceId}:${n.load}`)
    .join(',');
}

function expectedView(nodes: NodeInfo[]): string {
  return [...nodes]
    .sort((x, y) => (x.id < y.id ? -1 : 1))
    .map((n) => `${n.id}@${n.instanceId}:${n.load}`)
    .join(',');
}

/**
 * One fault on a clustered server, and every duty that must hold across it: owned nodes survive
 * (rule 4: a node whose owner keeps heartbeating never expires; the case's ttl outlasts the
 * leaderless window, see `ConformanceFaults.failoverTtl`), acknowledged writes are kept (rule 17:
 * no view goes backwards), views converge (rule 8), a register made right after and an
 * unregister made once it arrived reach every watcher (rules 1 and 3), and no node that was never
 * registered, or was unregistered, appears (rule 7: nothing after `left`).
 */
async function acrossClusterFault(suite: SuiteContext, context: TestContext, kind: ClusterFault) {
  const faults = suite.options.faults;
  const hook = kind === 'failover' ? faults?.failover : faults?.isolate;
  if (!faults || !hook) return context.skip();
  const { expect } = context;
  const ttl = faults.failoverTtl ?? DEFAULT_TTL;
  const what = DESCRIBE[kind];
  const scope = suite.scope(context.onTestFinished);
  const lost: string[] = [];
  const onOwnNodeLost = (node: NodeInfo, reason: string) => lost.push(`${node.id} (${reason})`);
  const instances = [
    await scope.open({ ttl, onOwnNodeLost }),
    await scope.open({ ttl, onOwnNodeLost }),
    await scope.open({ ttl, onOwnNodeLost }),
  ];
  const [a, b, c] = instances as [NodeDiscovery, NodeDiscovery, NodeDiscovery];
  const watchers: Recorder[] = instances.map((d) => scope.record(d));
  // More owners, each with a connection of its own: a client picks its member at random (etcd,
  // NATS), and the fault must find one on the member it hits.
  const extra: NodeDiscovery[] = [];
  for (let i = 0; i < EXTRA_OWNERS; i++) extra.push(await scope.open({ ttl, onOwnNodeLost }));
  const registered = new Set<string>();
  const register = (d: NodeDiscovery, node: NodeRegistration) => {
    registered.add(node.id);
    return d.register(node);
  };

  await register(a, { id: 'cf-a', load: 1 });
  // An update: the last acknowledged state of cf-a is load 2, and no view may fall back to load 1.
  const nodeA = await register(a, { id: 'cf-a', load: 2 });
  const nodeB = await register(b, { id: 'cf-b', metadata: { zone: 'b' } });
  const nodeX = await register(c, { id: 'cf-x' });
  const extraNodes = await Promise.all(extra.map((d, i) => register(d, { id: `cf-o${i + 1}` })));
  const extraIds = extraNodes.map((n) => n.id);
  const before = ['cf-a', 'cf-b', ...extraIds, 'cf-x'].sort().join(',');
  await register(c, { id: 'cf-gone' });
  await c.unregister('cf-gone');
  await waitFor(
    `every watcher to show ${before} (cf-a at load 2) before the fault`,
    () =>
      instances.every(
        (d) =>
          d
            .list()
            .map((n) => n.id)
            .join(',') === before && d.get('cf-a')?.load === 2,
      ),
    WAIT_LIMIT,
  );
  // A view without cf-gone is also the view of a watcher that has not received cf-gone yet: wait
  // for its `left` at every watcher, so that the events of cf-gone all come before the marks.
  for (const watch of watchers)
    await watch.left(
      'cf-gone',
      WAIT_LIMIT,
      0,
      'rule 1: a watcher never got the left of cf-gone, unregistered before the fault',
    );
  const marks = watchers.map((w) => w.seen.length);

  const { namespace } = scope;
  if (kind === 'failover') await faults.failover!({ namespace });
  else await faults.isolate!(ttl + ISOLATE_BEYOND_TTL, { namespace });
  const resolved = Date.now();
  const deadline = resolved + ttl + CONVERGE_SLACK;
  const remaining = () => Math.max(0, deadline - Date.now());

  const late = await register(b, { id: 'cf-late' }).catch((error: Error) => {
    throw new Error(`rule 1: a register right after ${what} was refused: ${error.message}`);
  });
  for (const [index, watch] of watchers.entries()) {
    await watch.joined(
      'cf-late',
      remaining(),
      marks[index],
      `rule 1: watcher ${index + 1} never got cf-late, registered right after ${what}, within ttl + ${CONVERGE_SLACK} ms`,
    );
  }

  // Owned nodes survive: no owner lost one, none was registered again, no watcher saw one leave.
  const owned: [string, NodeDiscovery, NodeInfo][] = [
    ['cf-a', a, nodeA],
    ['cf-b', b, nodeB],
    ['cf-x', c, nodeX],
    ...extraNodes.map((node, i): [string, NodeDiscovery, NodeInfo] => [node.id, extra[i]!, node]),
  ];
  const survived = (ids: string[]) => {
    expect(lost, `rule 4: owners kept heartbeating, yet lost their nodes across ${what}`).toEqual([]);
    for (const [id, owner, node] of owned.filter(([id]) => ids.includes(id)))
      expect(owner.get(id)?.instanceId, `rule 6: ${id} was registered again (a new instanceId)`).toBe(
        node.instanceId,
      );
    for (const [index, watch] of watchers.entries()) {
      const gone = watch.seen
        .slice(marks[index])
        .map((s) => s.event)
        .filter((e) => ids.includes(e.node.id) && e.type !== 'updated')
        .map((e) => `${e.type}:${e.node.id}${e.type === 'left' ? `:${e.reason}` : ''}`);
      expect(
        gone,
        `rule 4: watcher ${index + 1} saw an owned, heartbeating node leave (or join again) across ${what}`,
      ).toEqual([]);
    }
  };
  survived(['cf-a', 'cf-b', 'cf-x', ...extraIds]);

  // Rule 3 wants reason `unregistered`; rule 8 lets a watcher whose connection dropped meanwhile
  // report a node gone during the drop as `expired` (its re-list cannot know why). A clustered
  // client may reconnect more than once after a failover, so either reason passes here; the
  // reason itself is checked without faults ("unregister: every watcher gets left unregistered").
  await c.unregister('cf-x').catch((error: Error) => {
    throw new Error(`rule 3: an unregister after ${what} was refused: ${error.message}`);
  });
  for (const [index, watch] of watchers.entries()) {
    await watch.left(
      'cf-x',
      Math.max(remaining(), PROPAGATION_BOUND),
      marks[index],
      `rule 3: watcher ${index + 1} never got cf-x, unregistered after ${what}`,
    );
  }
  const fresh = await scope.open({ ttl });
  const expected = expectedView([nodeA, nodeB, late, ...extraNodes]);
  const all = [...instances, fresh];
  await waitFor(
    `rule 8 (issue 12's target): every watcher and a fresh instance to show exactly ${expected} ` +
      `within ttl + ${CONVERGE_SLACK} ms after ${what} (owned nodes with their owners' instanceId, cf-a at its last acknowledged load, ` +
      'cf-late registered and cf-x unregistered after it)',
    () => all.every((d) => viewOf(d) === expected),
    Math.max(remaining(), PROPAGATION_BOUND),
  ).catch((error: Error) => {
    throw new Error(`${error.message}; views at the deadline: ${all.map(viewOf).join(' | ')}`);
  });

  // Still true once everything settled: nothing expired late either.
  survived(['cf-a', 'cf-b', ...extraIds]);
  for (const [index, watch] of watchers.entries()) {
    const after = watch.seen.slice(marks[index]).map((s) => s.event);
    const summary = (ids: string[]) =>
      after
        .filter((e) => ids.includes(e.node.id))
        .map((e) => `${e.type}:${e.node.id}${e.type === 'left' ? `:${e.reason}` : ''}`);
    expect(
      after
        .filter((e) => e.node.id === 'cf-a' && e.node.load !== 2)
        .map((e) => `${e.type}:cf-a load ${e.node.load}`),
      `rule 17: watcher ${index + 1} was shown cf-a at a load older than its last acknowledged write`,
    ).toEqual([]);
    expect(summary(['cf-x']), `rules 3 and 7: watcher ${index + 1}: cf-x after ${what}`).toEqual([
      expect.stringMatching(/^left:cf-x:(unregistered|expired)$/),
    ]);
    // Nothing invented: no id that was never registered here, nothing of cf-gone (unregistered before the fault).
    expect(
      watch.events.filter((e) => !registered.has(e.node.id)).map((e) => `${e.type}:${e.node.id}`),
      `watcher ${index + 1} was shown nodes that were never registered in this namespace`,
    ).toEqual([]);
    expect(
      summary(['cf-gone']),
      `rule 7: watcher ${index + 1} was shown cf-gone again, unregistered before ${what}`,
    ).toEqual([]);
    expect(wellFormedProblem(watch.events), `rule 7: watcher ${index + 1}'s events`).toBeUndefined();
  }

  // The owners still own what the views show, and the store holds exactly that.
  await expect(
    a.heartbeat('cf-a'),
    `rule 6: the owner of cf-a can no longer heartbeat it after ${what}`,
  ).resolves.toBeUndefined();
  await expect(
    b.heartbeat('cf-b'),
    `rule 6: the owner of cf-b can no longer heartbeat it after ${what}`,
  ).resolves.toBeUndefined();
  const raw = await scope.raw({ ttl });
  const stored = (await raw.list()).entries.map((entry) => {
    const decoded = decodeRecord(entry.key, entry.value);
    return decoded.ok
      ? `${entry.key}@${decoded.node.instanceId}:${decoded.node.load}`
      : `${entry.key}:foreign`;
  });
  expect(stored.sort().join(','), `the store after ${what} (listed by a raw backend)`).toBe(expected);
  expect(all.map(viewOf), `rule 8: a view changed again after converging (after ${what})`).toEqual(
    all.map(() => expected),
  );
}

/** Failover and isolation of one member of a clustered server (issue 12). Run when `faults` has the hooks. */
export function clusterFaultCases(suite: SuiteContext): void {
  const ttl = suite.options.faults?.failoverTtl ?? DEFAULT_TTL;
  describe.sequential('cluster faults', () => {
    it(
      'cluster faults: across a failover owned nodes survive, views converge within ttl + 2 s, later changes reach every watcher, nothing is invented',
      (context) => acrossClusterFault(suite, context, 'failover'),
      suite.caseTimeout(ttl) + FAULT_ALLOWANCE,
    );
    it(
      'cluster faults: across one member frozen beyond the ttl owned nodes survive, views converge within ttl + 2 s, later changes reach every watcher, nothing is invented',
      (context) => acrossClusterFault(suite, context, 'isolate'),
      suite.caseTimeout(ttl) + FAULT_ALLOWANCE + ttl,
    );
  });
}
