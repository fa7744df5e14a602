import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The release plan the pending changesets make (CONTRIBUTING.md, "Releasing"): the published
// packages move together on one version line, and none goes major unless a changeset asks for it.
// Fails when the changesets patch is lost (an upgrade of @changesets/cli, a lockfile without it)
// or a new published package is left out of the fixed group: both force peers of core to major.

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Plan {
  changesets: { id: string; releases: { name: string; type: string }[] }[];
  releases: { name: string; type: string; newVersion: string; changesets: string[] }[];
}

function releasePlan(): Plan {
  const dir = mkdtempSync(join(tmpdir(), 'roster-release-plan-'));
  try {
    const output = join(dir, 'plan.json');
    execFileSync('pnpm', ['exec', 'changeset', 'status', `--output=${output}`], {
      cwd: root,
      stdio: 'pipe',
    });
    return JSON.parse(readFileSync(output, 'utf8')) as Plan;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('release plan of the pending changesets', () => {
  it('bumps no package to major unless one of its changesets asks for major, and keeps one version line', () => {
    const plan = releasePlan();
    const config = JSON.parse(readFileSync(join(root, '.changeset/config.json'), 'utf8')) as {
      fixed: string[][];
    };
    const group = config.fixed[0] ?? [];
    expect(group, 'the published packages form one fixed group').toContain('@roster/core');
    const askedMajor = new Set(
      plan.changesets.flatMap((c) => c.releases.filter((r) => r.type === 'major').map((r) => r.name)),
    );
    for (const release of plan.releases) {
      if (release.type !== 'major') continue;
      expect(
        askedMajor.has(release.name) || group.some((name) => askedMajor.has(name)),
        `${release.name} is planned major though no changeset asked for it`,
      ).toBe(true);
    }
    const versions = new Set(plan.releases.filter((r) => group.includes(r.name)).map((r) => r.newVersion));
    if (plan.releases.length > 0) expect([...versions]).toHaveLength(1);
  }, 60_000);
});
