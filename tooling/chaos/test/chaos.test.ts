// A short chaos run per backend on a single server, so that CI runs the checker against every
// backend on each change. Longer and clustered runs are in docs/reliability.md.
// CI runs a fixed seed, so a red run is a regression rather than a newly drawn schedule;
// ROSTER_CHAOS_SEED=<n> replays another one, ROSTER_CHAOS_SEED=random draws a new one.
import { describe, expect, it } from 'vitest';
import { runChaos } from '../src/run-chaos.js';
import { BACKENDS } from '../src/topology.js';

const DURATION_MS = 30_000;
const FIXED_SEED = 20261130;
const seed =
  process.env.ROSTER_CHAOS_SEED === 'random'
    ? Math.floor(Math.random() * 2 ** 31)
    : process.env.ROSTER_CHAOS_SEED
      ? Number(process.env.ROSTER_CHAOS_SEED)
      : FIXED_SEED;

describe('chaos, single server', () => {
  for (const backend of BACKENDS) {
    it(`${backend}: no lost or phantom node, well-ordered events, through faults`, {
      timeout: DURATION_MS + 120_000,
    }, async () => {
      const lines: string[] = [];
      const result = await runChaos({
        backend,
        durationMs: DURATION_MS,
        seed,
        log: (line) => lines.push(line),
      });
      console.log([...lines, result.summary].join('\n'));
      expect(result.faults, 'the schedule injected faults').toBeGreaterThan(0);
      expect(result.events, 'the watchers saw events').toBeGreaterThan(0);
      const steps = result.wallClockSteps.map((s) => `${s.ms} ms at ${new Date(s.at).toISOString()}`);
      expect(
        result.violations,
        `replay with ROSTER_CHAOS_SEED=${seed} (pnpm chaos --backend ${backend} --seed ${seed})${steps.length > 0 ? `; the machine's wall clock was set during the run: ${steps.join(', ')}` : ''}`,
      ).toEqual([]);
    });
  }
});

describe('chaos, a broken backend', () => {
  it("reports phantom nodes when the watchers' feeds lose every delete", { timeout: 120_000 }, async () => {
    const result = await runChaos({ backend: 'memory', durationMs: 12_000, seed, sabotage: 'drop-deletes' });
    expect(result.ok, result.summary).toBe(false);
    expect(result.phantom, result.summary).toBeGreaterThan(0);
    expect(result.summary).toMatch(
      /^chaos memory: \d+ faults, \d+ events, \d+ lost, [1-9]\d* phantom, \d+ order errors, convergence p99 \d+ ms$/,
    );
  });
});
