import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPicker,
  DiscoveryError,
  InvalidOptionsError,
  leastLoaded,
  type NodeFilter,
  type NodeInfo,
  NoNodesAvailableError,
  powerOfTwoChoices,
  random,
  rendezvous,
  roundRobin,
} from '../src/index.js';

function node(id: string, load = 0, metadata: Record<string, string> = {}): NodeInfo {
  return { id, load, metadata, instanceId: `i-${id}`, registeredAt: 0, lastSeen: 0 };
}

/** Mulberry32: a small seeded generator, so that every simulation is reproducible from its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nodeIds = (min: number, max: number) =>
  fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_=-]{1,24}$/), { minLength: min, maxLength: max });

/** A stand-in for a discovery instance: createPicker only reads `list(filter)`. */
function view(nodes: NodeInfo[]) {
  const state = { nodes };
  return {
    state,
    list: (filter?: NodeFilter) =>
      state.nodes.filter((n) =>
        Object.entries(filter?.metadata ?? {}).every(([k, v]) => n.metadata[k] === v),
      ),
  };
}

describe('empty node set', () => {
  it('every strategy throws NoNodesAvailableError (ERR_NO_NODES), never returns undefined', () => {
    const calls = [
      () => random([]),
      () => roundRobin().pick([]),
      () => leastLoaded([]),
      () => powerOfTwoChoices([]),
      () => rendezvous([], 'k'),
    ];
    for (const call of calls) {
      expect(call).toThrow(NoNodesAvailableError);
      try {
        call();
      } catch (error) {
        expect(error).toBeInstanceOf(DiscoveryError);
        expect((error as DiscoveryError).code).toBe('ERR_NO_NODES');
      }
    }
  });

  it('a picker names its strategy and filter in the error', () => {
    const picker = createPicker(view([node('a', 0, { role: 'db' })]), {
      strategy: 'random',
      filter: { metadata: { role: 'api' } },
    });
    expect(() => picker.pick()).toThrow(/random \(filter role=api\): no nodes available/);
  });
});

describe('random', () => {
  it('returns one of the nodes, spread over all of them', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id) => node(id));
    const draw = seeded(7);
    const counts = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const picked = random(nodes, { random: draw });
      counts.set(picked.id, (counts.get(picked.id) ?? 0) + 1);
    }
    for (const id of ['a', 'b', 'c', 'd']) expect(counts.get(id)).toBeGreaterThan(800);
  });

  it('survives a random source that returns 1', () => {
    expect(random([node('a'), node('b')], { random: () => 1 }).id).toBe('b');
  });
});

describe('round-robin', () => {
  it('is fair: over k full turns every node is picked exactly k times, in any list order', () => {
    fc.assert(
      fc.property(nodeIds(1, 20), fc.integer({ min: 1, max: 5 }), fc.integer(), (ids, turns, seed) => {
        const rotation = roundRobin();
        const draw = seeded(seed);
        const nodes = ids.map((id) => node(id));
        const counts = new Map<string, number>();
        for (let i = 0; i < ids.length * turns; i++) {
          // A fresh shuffle each time: the rotation must not depend on the list order.
          const shuffled = [...nodes].sort(() => draw() - 0.5);
          const picked = rotation.pick(shuffled).id;
          counts.set(picked, (counts.get(picked) ?? 0) + 1);
        }
        for (const id of ids) expect(counts.get(id)).toBe(turns);
      }),
    );
  });

  it('a join or leave neither restarts the rotation nor repeats a node', () => {
    fc.assert(
      fc.property(nodeIds(3, 12), fc.nat(), (ids, at) => {
        const sorted = [...ids].sort();
        const rotation = roundRobin();
        const first = rotation.pick(sorted.map((id) => node(id))).id;
        const gone = sorted[(at % (sorted.length - 1)) + 1]!; // never the one just picked
        const rest = sorted.filter((id) => id !== gone);
        const seen: string[] = [];
        for (let i = 0; i < rest.length; i++) seen.push(rotation.pick(rest.map((id) => node(id))).id);
        // One full turn of the remaining nodes: each exactly once, `first` last.
        expect([...seen].sort()).toEqual(rest);
        expect(seen.at(-1)).toBe(first);
      }),
    );
  });
});

describe('least-loaded', () => {
  it('returns a node of minimal load', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: fc.string({ minLength: 1 }), load: fc.integer({ min: 0, max: 5 }) }), {
          minLength: 1,
          maxLength: 30,
          selector: (n) => n.id,
        }),
        (nodes) => {
          const min = Math.min(...nodes.map((n) => n.load));
          expect(leastLoaded(nodes).load).toBe(min);
        },
      ),
    );
  });

  it('breaks ties at random rather than always taking the first', () => {
    const nodes = [node('a', 1), node('b', 1), node('c', 1), node('d', 2)];
    const draw = seeded(3);
    const picked = new Set<string>();
    for (let i = 0; i < 200; i++) picked.add(leastLoaded(nodes, { random: draw }).id);
    expect([...picked].sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('power-of-two-choices', () => {
  it('compares two distinct nodes: with two nodes it always takes the less loaded one', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const draw = seeded(seed);
        for (let i = 0; i < 20; i++)
          expect(powerOfTwoChoices([node('a', 3), node('b', 1)], { random: draw }).id).toBe('b');
      }),
    );
  });

  it('beats random on max load when placing balls into bins', () => {
    // The classic result: max load of random placement grows like ln n / ln ln n above the mean,
    // power-of-two like ln ln n / ln 2. Each run places m balls into n bins by the live loads.
    function maxLoad(n: number, m: number, pick: (bins: { id: string; load: number }[]) => { id: string }) {
      const bins = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, load: 0 }));
      const byId = new Map(bins.map((b) => [b.id, b]));
      for (let ball = 0; ball < m; ball++) byId.get(pick(bins).id)!.load += 1;
      return Math.max(...bins.map((b) => b.load));
    }
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 50, max: 200 }), (seed, n) => {
        const m = n * 10;
        const drawA = seeded(seed);
        const drawB = seeded(seed ^ 0x5bd1e995);
        const randomMax = maxLoad(n, m, (bins) => random(bins, { random: drawA }));
        const p2cMax = maxLoad(n, m, (bins) => powerOfTwoChoices(bins, { random: drawB }));
        expect(p2cMax).toBeLessThan(randomMax);
        // And it stays close to the mean (10), as the theory says (ln ln 200 / ln 2 ≈ 2.4).
        expect(p2cMax).toBeLessThanOrEqual(10 + 4);
      }),
      { numRuns: 40 },
    );
  });
});

describe('rendezvous', () => {
  it('is deterministic and independent of list order', () => {
    fc.assert(
      fc.property(nodeIds(1, 15), fc.array(fc.string(), { minLength: 1, maxLength: 20 }), (ids, keys) => {
        const nodes = ids.map((id) => node(id));
        const reversed = [...nodes].reverse();
        for (const key of keys) expect(rendezvous(reversed, key).id).toBe(rendezvous(nodes, key).id);
      }),
    );
  });

  it('when a node departs, only the keys it owned move', () => {
    fc.assert(
      fc.property(
        nodeIds(2, 20),
        fc.nat(),
        fc.uniqueArray(fc.string({ maxLength: 30 }), { minLength: 1, maxLength: 200 }),
        (ids, which, keys) => {
          const nodes = ids.map((id) => node(id));
          const departed = ids[which % ids.length]!;
          const remaining = nodes.filter((n) => n.id !== departed);
          for (const key of keys) {
            const before = rendezvous(nodes, key).id;
            const after = rendezvous(remaining, key).id;
            if (before !== departed) expect(after).toBe(before);
          }
        },
      ),
    );
  });

  it('when a node joins, keys move only to it', () => {
    fc.assert(
      fc.property(
        nodeIds(2, 20),
        fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 200 }),
        (ids, keys) => {
          const [joining, ...rest] = ids.map((id) => node(id));
          for (const key of keys) {
            const before = rendezvous(rest, key).id;
            const after = rendezvous([...rest, joining!], key).id;
            if (after !== joining!.id) expect(after).toBe(before);
          }
        },
      ),
    );
  });

  it('spreads keys evenly (chi-square bound)', () => {
    fc.assert(
      fc.property(nodeIds(2, 16), fc.string({ maxLength: 8 }), (ids, prefix) => {
        const nodes = ids.map((id) => node(id));
        const perNode = 500;
        const total = perNode * ids.length;
        const counts = new Map<string, number>(ids.map((id) => [id, 0]));
        // Sequential, nearly identical keys: the hardest input for a weak hash.
        for (let i = 0; i < total; i++) {
          const owner = rendezvous(nodes, `${prefix}${i}`).id;
          counts.set(owner, counts.get(owner)! + 1);
        }
        let chiSquare = 0;
        for (const count of counts.values()) chiSquare += (count - perNode) ** 2 / perNode;
        // Under a uniform spread chi-square has mean df and sd sqrt(2 df); six sd above the mean is
        // a false alarm rate far below one in a million runs, yet any real bias of a few % fails it.
        const df = ids.length - 1;
        expect(chiSquare).toBeLessThan(df + 6 * Math.sqrt(2 * df) + 10);
      }),
      { numRuns: 60 },
    );
  });

  it('needs a key', () => {
    expect(() => rendezvous([node('a')], undefined as unknown as string)).toThrow(TypeError);
  });
});

describe('createPicker', () => {
  it('reads the live view at every pick', () => {
    const v = view([node('a', 0)]);
    const picker = createPicker(v, { strategy: 'least-loaded' });
    expect(picker.pick().id).toBe('a');
    v.state.nodes = [node('a', 5), node('b', 1)];
    expect(picker.pick().id).toBe('b');
    v.state.nodes = [];
    expect(() => picker.pick()).toThrow(NoNodesAvailableError);
  });

  it('applies the filter', () => {
    const v = view([node('a', 0, { role: 'db' }), node('b', 9, { role: 'api' })]);
    const picker = createPicker(v, { strategy: 'least-loaded', filter: { metadata: { role: 'api' } } });
    expect(picker.pick().id).toBe('b');
  });

  it('keeps one rotation per picker for round-robin', () => {
    const v = view([node('a'), node('b'), node('c')]);
    const picker = createPicker(v, { strategy: 'round-robin' });
    expect([picker.pick(), picker.pick(), picker.pick(), picker.pick()].map((n) => n.id)).toEqual([
      'a',
      'b',
      'c',
      'a',
    ]);
    expect(picker.strategy).toBe('round-robin');
  });

  it('rendezvous picks by key and refuses a pick without one', () => {
    const v = view([node('a'), node('b'), node('c')]);
    const picker = createPicker(v, { strategy: 'rendezvous' });
    expect(picker.pick('user:1').id).toBe(rendezvous(v.state.nodes, 'user:1').id);
    expect(() => picker.pick()).toThrow(/pick\(key\)/);
  });

  it('uses the given random source, and accepts a custom strategy', () => {
    const v = view([node('a'), node('b')]);
    expect(createPicker(v, { strategy: 'random', random: () => 0.99 }).pick().id).toBe('b');
    expect(createPicker(v, { strategy: 'power-of-two-choices', random: seeded(1) }).strategy).toBe(
      'power-of-two-choices',
    );
    const custom = createPicker(v, { strategy: (nodes, key) => nodes.find((n) => n.id === key) ?? nodes[0] });
    expect(custom.strategy).toBe('custom');
    expect(custom.pick('b').id).toBe('b');
  });

  it('rejects an unknown strategy name with InvalidOptionsError', () => {
    expect(() => createPicker(view([]), { strategy: 'fastest' as never })).toThrow(InvalidOptionsError);
  });
});
