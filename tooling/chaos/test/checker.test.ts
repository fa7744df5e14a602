// The checker must be able to fail: each case feeds it a record with one known violation.
import type { NodeChangeEvent, NodeInfo } from '@roster/core';
import { describe, expect, it } from 'vitest';
import { Checker, percentile } from '../src/checker.js';
import { viewAt } from '../src/run-record.js';

const ttl = 2_000;
const bound = 3_000;
const options = { ttl, bound, heartbeatSlack: 1_233, serverRecovery: 7_000 };

function node(id: string, instanceId: string, load = 0): NodeInfo {
  return { id, instanceId, load, metadata: {}, registeredAt: 0, lastSeen: 0 };
}
const joined = (n: NodeInfo): NodeChangeEvent => ({ type: 'joined', node: n });
const left = (n: NodeInfo, reason: 'expired' | 'unregistered' | 'replaced'): NodeChangeEvent => ({
  type: 'left',
  node: n,
  reason,
});

/** A checker with one owner `o0g0` that registered `a` (instance i1) at t=1000. */
function withOwner(): Checker {
  const checker = new Checker(options);
  checker.ownerStarted('o0g0');
  checker.report('o0g0', { type: 'intent', t: 1_000, op: 'register', id: 'a' });
  checker.report('o0g0', { type: 'done', t: 1_010, op: 'register', id: 'a', instanceId: 'i1' });
  return checker;
}

describe('checker', () => {
  it('accepts an expiry of a node whose owner was killed, within the bound', () => {
    const checker = withOwner();
    const seen = checker.watcher();
    seen.push({ t: 1_020, event: joined(node('a', 'i1')) });
    (checker.owners.get('o0g0') as { killedAt?: number }).killedAt = 5_000;
    seen.push({ t: 5_000 + 2_500, event: left(node('a', 'i1'), 'expired') });
    checker.finish(20_000);
    expect(checker.violations).toEqual([]);
  });

  it('counts an expiry of a live owner node as lost', () => {
    const checker = withOwner();
    const seen = checker.watcher();
    seen.push({ t: 1_020, event: joined(node('a', 'i1')) });
    seen.push({ t: 20_000, event: left(node('a', 'i1'), 'expired') });
    checker.finish(30_000);
    expect(checker.violations.map((v) => v.kind)).toEqual(['lost']);
  });

  it('counts a left unregistered that no owner asked for as lost', () => {
    const checker = withOwner();
    const seen = checker.watcher();
    seen.push({ t: 1_020, event: joined(node('a', 'i1')) });
    seen.push({ t: 4_000, event: left(node('a', 'i1'), 'unregistered') });
    checker.report('o0g0', { type: 'intent', t: 4_100, op: 'unregister', id: 'a' });
    checker.finish(30_000);
    expect(checker.violations.map((v) => v.kind)).toEqual(['lost']);
  });

  it('counts a late expiry while the server was up as phantom', () => {
    const checker = withOwner();
    const seen = checker.watcher();
    seen.push({ t: 1_020, event: joined(node('a', 'i1')) });
    (checker.owners.get('o0g0') as { killedAt?: number }).killedAt = 5_000;
    seen.push({ t: 5_000 + bound + 500, event: left(node('a', 'i1'), 'expired') });
    checker.finish(30_000);
    expect(checker.violations.map((v) => v.kind)).toEqual(['phantom']);
  });

  it('does not hold a late expiry against a server that was down', () => {
    const checker = withOwner();
    const seen = checker.watcher();
    seen.push({ t: 1_020, event: joined(node('a', 'i1')) });
    (checker.owners.get('o0g0') as { killedAt?: number }).killedAt = 5_000;
    checker.serverFaults.push({ from: 5_500, to: 7_000, what: 'restart' });
    seen.push({ t: 5_000 + bound + 500, event: left(node('a', 'i1'), 'expired') });
    checker.finish(30_000);
    expect(checker.violations).toEqual([]);
  });

  it('counts an owner told "unregistered" when nobody unregistered its node as lost (rule 6)', () => {
    const checker = withOwner();
    checker.report('o0g0', { type: 'lost', t: 20_000, id: 'a', reason: 'unregistered' });
    checker.finish(30_000);
    expect(checker.violations.map((v) => v.kind)).toEqual(['lost']);
    const explained = withOwner();
    explained.report('o0g0', { type: 'intent', t: 19_000, op: 'unregister', id: 'a' });
    explained.report('o0g0', { type: 'lost', t: 20_000, id: 'a', reason: 'unregistered' });
    explained.finish(30_000);
    expect(explained.violations).toEqual([]);
  });

  it('reports an ill-formed sequence as an order error', () => {
    const checker = withOwner();
    const seen = checker.watcher();
    seen.push({ t: 1_020, event: joined(node('a', 'i1')) });
    seen.push({ t: 1_030, event: joined(node('a', 'i1')) });
    checker.finish(30_000);
    expect(checker.violations.map((v) => v.kind)).toEqual(['order']);
  });

  it('compares views with the owners: missing, stale and phantom nodes', () => {
    const checker = new Checker(options);
    const truth = new Map([
      ['a', { id: 'a', instanceId: 'i1', load: 1, metadata: {} }],
      ['b', { id: 'b', instanceId: 'i2', load: 2, metadata: {} }],
    ]);
    const view = new Map([
      ['a', node('a', 'i1', 5)],
      ['c', node('c', 'i3')],
    ]);
    const kinds = checker
      .compare(truth, [view])
      .map((p) => p.kind)
      .sort();
    expect(kinds).toEqual(['lost', 'lost', 'phantom']);
    expect(
      checker.compare(truth, [
        new Map([
          ['a', node('a', 'i1', 1)],
          ['b', node('b', 'i2', 2)],
        ]),
      ]),
    ).toEqual([]);
  });

  it('folds events into a view and takes percentiles', () => {
    const seen = [
      { t: 1, event: joined(node('a', 'i1')) },
      { t: 2, event: joined(node('b', 'i2')) },
      { t: 3, event: left(node('a', 'i1'), 'expired') },
    ];
    expect([...viewAt(seen, 2).keys()]).toEqual(['a', 'b']);
    expect([...viewAt(seen).keys()]).toEqual(['b']);
    expect(percentile([5, 1, 3], 99)).toBe(5);
    expect(percentile([], 99)).toBe(0);
  });
});
