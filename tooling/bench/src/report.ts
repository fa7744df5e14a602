import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { BenchAdapter, IdleTarget } from './adapter.js';
import type { ExpiryResult } from './measures/expiry.js';
import type { HeartbeatThroughput } from './measures/heartbeat-throughput.js';
import type { IdleCost } from './measures/idle-cost.js';
import type { Propagation } from './measures/propagation.js';
import type { SoakResult } from './measures/soak.js';
import type { SyncResult } from './measures/sync.js';
import type { Sizes } from './sizes.js';
import { quantile } from './stats.js';

/** Everything one run measured on one backend; a measure that failed has its error instead. */
export interface BenchResults {
  readonly sizes: Sizes;
  readonly quick: boolean;
  heartbeat?: HeartbeatThroughput;
  propagation?: Propagation;
  readonly sync: SyncResult[];
  expiry?: ExpiryResult;
  readonly idle: IdleCost[];
  soak?: SoakResult;
  readonly failures: { measure: string; message: string }[];
}

type Row = [measure: string, roster: string, raw: string, ratio: string, target: string, result: string];

const DASH = '—';
const verdict = (ok: boolean) => (ok ? 'hit' : '**miss**');
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(Math.abs(n) < 10 ? 2 : 1)} ms` : DASH);
const fixed = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : DASH);
const rate = (n: number) => `${int(n)}/s`;
/** Per-node-per-second figures: whole numbers when large, three decimals when small. */
const figure = (n: number) =>
  !Number.isFinite(n) ? DASH : Math.abs(n) >= 100 ? int(n) : n.toFixed(Math.abs(n) >= 10 ? 1 : 3);

/** The markdown section of one backend: heading, what ran, one table. */
export function renderSection(
  adapter: BenchAdapter,
  results: BenchResults,
  command = `pnpm bench --backend ${adapter.name}${results.quick ? ' --quick' : ''}`,
  date = new Date(),
): string {
  const { sizes } = results;
  const rows: Row[] = [];
  const hb = results.heartbeat;
  if (hb) {
    const ratio = hb.roster / hb.raw;
    const target = adapter.targets?.heartbeatRatio;
    rows.push([
      `heartbeats/s, ${sizes.heartbeatConcurrency} in flight (owner's heartbeat() calls)`,
      rate(hb.roster),
      `${rate(hb.raw)} (${adapter.raw.writeLabel})`,
      fixed(ratio),
      target === undefined ? DASH : `>= ${target.toFixed(2)}`,
      target === undefined ? DASH : verdict(ratio >= target),
    ]);
    for (const c of hb.context)
      rows.push([
        `(context) raw ${c.label}, same concurrency`,
        DASH,
        rate(c.perSecond),
        `${fixed(hb.roster / c.perSecond)} of it`,
        DASH,
        DASH,
      ]);
  }
  const prop = results.propagation;
  if (prop) {
    for (const q of [0.5, 0.99]) {
      const roster = quantile(prop.roster, q);
      const raw = quantile(prop.raw, q);
      rows.push([
        `register → joined at another instance, p${q * 100} of ${prop.roster.length}`,
        ms(roster),
        `${ms(raw)} (${adapter.raw.feedLabel})`,
        fixed(roster / raw),
        q === 0.99 ? '< 1000 ms (rule 1)' : DASH,
        q === 0.99 ? verdict(roster < 1_000) : DASH,
      ]);
    }
  }
  const largest = Math.max(...results.sync.map((s) => s.nodes));
  for (const s of results.sync) {
    const judged = s.nodes === largest;
    const ratio = s.roster / s.raw;
    rows.push([
      `sync of ${int(s.nodes)} nodes by a new instance (median of ${sizes.syncRepeats})`,
      ms(s.roster),
      `${ms(s.raw)} (${adapter.raw.listLabel})`,
      fixed(ratio),
      judged ? '<= 1.30' : DASH,
      judged ? verdict(ratio <= 1.3) : DASH,
    ]);
    rows.push([
      `(context) the same, backend open + list() alone (no core, no decoding)`,
      ms(s.backendList),
      ms(s.raw),
      fixed(s.backendList / s.raw),
      DASH,
      DASH,
    ]);
  }
  for (const s of results.sync) {
    const judged = s.nodes === largest;
    rows.push([
      `heap per cached node (${int(s.nodes)} nodes; external in brackets)`,
      `${int(s.heapPerNode)} B (${int(s.externalPerNode)} B)`,
      DASH,
      DASH,
      judged ? '<= 600 B' : DASH,
      judged ? verdict(s.heapPerNode <= 600) : DASH,
    ]);
  }
  const exp = results.expiry;
  if (exp) {
    const bound = Math.max(1_000, exp.ttl / 4);
    const early = exp.roster.filter((d) => d < 0).length;
    for (const q of [0.5, 0.99]) {
      const last = q === 0.99;
      rows.push([
        `expiry detected after ttl (${exp.ttl} ms), p${q * 100} of ${exp.roster.length}/${exp.nodes}`,
        ms(quantile(exp.roster, q)),
        exp.raw && adapter.raw.expiry ? `${ms(quantile(exp.raw, q))} (${adapter.raw.expiry.label})` : DASH,
        DASH,
        last ? `<= ${bound} ms, none early or missed (rule 4)` : DASH,
        last
          ? `${verdict(quantile(exp.roster, q) <= bound && early === 0 && exp.wrong === 0)}${early || exp.wrong ? ` (${early} early, ${exp.wrong} missed)` : ''}`
          : DASH,
      ]);
    }
  }
  rows.push(...idleRows(adapter, results.idle));
  const soak = results.soak;
  if (soak) {
    const what = `${int(soak.nodes)} nodes in one process, ttl ${soak.ttl / 1000} s, ${Math.round(soak.seconds)} s`;
    const intact = soak.lost === 0 && soak.listed === soak.nodes && soak.otherPuts === 0;
    rows.push([
      `${what}: nodes lost`,
      `${soak.lost} (raw list found ${int(soak.listed)}; ${soak.otherPuts} re-registrations)`,
      DASH,
      DASH,
      '0',
      verdict(intact),
    ]);
    rows.push([
      `${what}: heartbeats/s (backend puts)`,
      rate(soak.heartbeatsPerSecond),
      DASH,
      DASH,
      DASH,
      DASH,
    ]);
    for (const [name, value] of Object.entries(soak.server ?? {}))
      rows.push([`${what}: server ${name}/s`, rate(value), DASH, DASH, DASH, DASH]);
    const bound = soak.ttl / 10;
    rows.push([
      `${what}: heartbeat delay p99 (p50; longest gap)`,
      `${ms(soak.delayP99)} (${ms(soak.delayP50)}; ${ms(soak.maxGap)})`,
      DASH,
      DASH,
      `<= ${bound} ms (ttl / 10)`,
      verdict(soak.gaps > 0 && soak.delayP99 <= bound),
    ]);
  }
  for (const failure of results.failures)
    rows.push([
      `${failure.measure}: failed`,
      failure.message.replaceAll('|', '\\|').split('\n')[0] ?? '',
      DASH,
      DASH,
      DASH,
      '**miss**',
    ]);

  const header: Row = ['measure', 'Roster', adapter.raw.client, 'ratio', 'target', 'result'];
  const table = [header, header.map(() => '---') as Row, ...rows].map((row) => `| ${row.join(' | ')} |`);
  const lines = [`### ${adapter.title}`, ''];
  if (results.quick)
    lines.push('**Smoke run (`--quick`, reduced sizes) on a loaded machine: not a measurement.**', '');
  lines.push(
    `${adapter.server}, Node ${process.version}, ${availableParallelism()} cores, ${date.toISOString().slice(0, 10)}; ` +
      `\`${command}\`.` +
      (results.idle.length > 0
        ? ` Idle cost: ${results.idle.map((i) => i.instances).join(' and ')} instances in one process, one node each, ttl ${sizes.idleTtl / 1000} s, ` +
          `${sizes.idleWindowMs / 1000} s window${adapter.counters ? `; server counters from ${adapter.counters.source}` : ''}.`
        : ''),
    '',
    ...table,
  );
  return lines.join('\n');
}

function idleRows(adapter: BenchAdapter, idle: readonly IdleCost[]): Row[] {
  if (idle.length === 0) return [];
  const rows: Row[] = [];
  const first = idle[0] as IdleCost;
  const series: { name: string; value: (cost: IdleCost) => number | undefined; target?: IdleTarget }[] = [];
  for (const name of Object.keys(first.server ?? {}))
    series.push({
      name: `server ${name}`,
      value: (cost) => cost.server?.[name],
      target: adapter.targets?.idle?.find((t) => t.counter === name),
    });
  series.push({ name: 'backend puts', value: (cost) => cost.puts });
  series.push({ name: 'feed changes received (all instances)', value: (cost) => cost.changes });
  for (const { name, value, target } of series) {
    const base = value(first) ?? Number.NaN;
    for (const cost of idle) {
      const measured = value(cost) ?? Number.NaN;
      const growth = cost === first ? Number.NaN : base === 0 && measured === 0 ? 1 : measured / base;
      const targets: string[] = [];
      let ok = true;
      if (target?.maxPerNodePerSecond !== undefined) {
        targets.push(target.maxPerNodePerSecond === 0 ? '0' : `<= ${target.maxPerNodePerSecond}`);
        // A counter that must stay at zero: anything that rounds to zero at two decimals is not zero.
        ok &&= target.maxPerNodePerSecond === 0 ? measured === 0 : measured <= target.maxPerNodePerSecond;
      }
      if (target?.maxGrowth !== undefined && cost !== first) {
        targets.push(`${cost.instances}/${first.instances} <= ${target.maxGrowth.toFixed(2)}`);
        ok &&= growth <= target.maxGrowth;
      }
      rows.push([
        `idle: ${name} per node per s, ${cost.instances} instances`,
        figure(measured),
        DASH,
        cost === first ? DASH : `${fixed(growth)} of ${first.instances}`,
        targets.length > 0 ? targets.join(', ') : DASH,
        targets.length > 0 ? verdict(ok) : DASH,
      ]);
    }
  }
  return rows;
}

/** Replaces the `<!-- bench:<name> -->` section of `file` (appends one when there is none). */
export function writeSection(file: string, name: string, markdown: string): void {
  const begin = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const section = `${begin}\n${markdown}\n${end}`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  writeFileSync(
    file,
    from >= 0 && to > from
      ? text.slice(0, from) + section + text.slice(to + end.length)
      : `${text.trimEnd()}\n\n${section}\n`,
  );
}
