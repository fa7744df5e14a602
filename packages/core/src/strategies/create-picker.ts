import { InvalidOptionsError } from '../errors.js';
import type { NodeDiscovery } from '../types/node-discovery.js';
import type { NodeFilter } from '../types/node-filter.js';
import type { NodeInfo } from '../types/node-info.js';
import { leastLoaded } from './least-loaded.js';
import { assertNotEmpty } from './no-nodes-available-error.js';
import { powerOfTwoChoices } from './power-of-two-choices.js';
import { random } from './random.js';
import type { RandomSource } from './random-source.js';
import { rendezvous } from './rendezvous.js';
import { roundRobin } from './round-robin.js';

/** The built-in strategies of {@link createPicker}. */
export type StrategyName = 'random' | 'round-robin' | 'least-loaded' | 'power-of-two-choices' | 'rendezvous';

/**
 * A custom strategy: chooses one of `nodes` (never empty: the picker checks first), optionally by `key`.
 */
export type PickStrategy = (nodes: readonly [NodeInfo, ...NodeInfo[]], key: string | undefined) => NodeInfo;

/** Options of {@link createPicker}. */
export interface PickerOptions {
  /** A built-in strategy by name, or your own function. */
  strategy: StrategyName | PickStrategy;
  /** Only nodes that match (as `discovery.list(filter)`). */
  filter?: NodeFilter;
  /** Randomness of `random`, `least-loaded` (ties) and `power-of-two-choices`. Default `Math.random`. */
  random?: RandomSource;
}

/** Picks nodes from a discovery instance's live view; see {@link createPicker}. */
export interface Picker {
  /** The strategy's name (`custom` for a function). */
  readonly strategy: StrategyName | 'custom';
  /**
   * One node of the current view. `key` is required by `rendezvous` (same key, same node while the
   * membership holds) and passed on to a custom strategy. Throws `NoNodesAvailableError` when no node
   * matches.
   */
  pick(key?: string): NodeInfo;
}

const STRATEGIES: readonly StrategyName[] = [
  'random',
  'round-robin',
  'least-loaded',
  'power-of-two-choices',
  'rendezvous',
];

/**
 * A picker over the live view of a discovery instance: each `pick()` reads `discovery.list(filter)`
 * (local, no I/O), so it always chooses among the nodes alive right now.
 *
 * @example
 * ```ts
 * const picker = createPicker(discovery, { strategy: 'power-of-two-choices', filter: { metadata: { role: 'api' } } });
 * const node = picker.pick();
 *
 * const shards = createPicker(discovery, { strategy: 'rendezvous' });
 * const owner = shards.pick(`user:${userId}`); // stable while the membership is
 * ```
 */
export function createPicker(discovery: Pick<NodeDiscovery, 'list'>, options: PickerOptions): Picker {
  const { strategy, filter } = options;
  const randomOptions = options.random ? { random: options.random } : {};
  const choose = chooser(strategy, randomOptions);
  const name = typeof strategy === 'function' ? 'custom' : strategy;
  return {
    strategy: name,
    pick(key?: string): NodeInfo {
      const nodes = discovery.list(filter);
      if (nodes.length === 0) assertNotEmpty(nodes, describe(name, filter));
      return choose(nodes as [NodeInfo, ...NodeInfo[]], key);
    },
  };
}

function chooser(
  strategy: PickerOptions['strategy'],
  randomOptions: { random?: RandomSource },
): PickStrategy {
  if (typeof strategy === 'function') return strategy;
  switch (strategy) {
    case 'random':
      return (nodes) => random(nodes, randomOptions);
    case 'round-robin': {
      const rotation = roundRobin();
      return (nodes) => rotation.pick(nodes);
    }
    case 'least-loaded':
      return (nodes) => leastLoaded(nodes, randomOptions);
    case 'power-of-two-choices':
      return (nodes) => powerOfTwoChoices(nodes, randomOptions);
    case 'rendezvous':
      return (nodes, key) => {
        if (key === undefined)
          throw new TypeError("the rendezvous strategy picks by key: call pick(key), e.g. pick('user:42')");
        return rendezvous(nodes, key);
      };
    default:
      throw new InvalidOptionsError(
        `strategy must be one of ${STRATEGIES.join(', ')} or a function, got ${JSON.stringify(strategy)}`,
      );
  }
}

function describe(name: string, filter: NodeFilter | undefined): string {
  const pairs = Object.entries(filter?.metadata ?? {});
  if (pairs.length === 0) return name;
  return `${name} (filter ${pairs.map(([k, v]) => `${k}=${v}`).join(', ')})`;
}
