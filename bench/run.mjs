#!/usr/bin/env node
// Runs every benchmark under bench/ one after another (never in parallel: 2 cores), collects the
// one JSON line each prints on stdout, writes bench/results/latest.json and prints a summary.
// Benchmarks are not tests: each reports ratios or times against a baseline measured in its own
// run, and whether it met its target. Usage: npm run bench [-- --only login,token] [-- --check]
//
// --check is the regression guard a developer runs before stopping (not a timed unit test):
// after the runs it prints each target of issue 16 beside what was measured and exits 1 when
// any ratio is over its target (or a benchmark failed). `--runs N` is passed to every bench.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benches = [
  // whoami, clusters and the exec hot path with a warm cache, against node -e 0
  { name: 'commands', args: ['bench/commands.mjs'] },
  { name: 'login', args: [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/login.ts'] },
  { name: 'credential-hot-path', args: ['bench/credential-hot-path.mjs'] },
  // int128/kubelogin beside us (test/peers/kubelogin/install.sh builds it): hot path, start → browser
  { name: 'kubelogin', args: [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/kubelogin.ts'] },
  // one vs 1,000 contexts, token cache entries and catalog clusters: hot path and login --exec
  { name: 'scale', args: [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'bench/scale.ts'] },
  { name: 'rbac-apply', args: ['bench/rbac-apply.mjs'] },
  // issue 16's scale figure: 1,000 mapped groups (1,953 objects), first apply under 5 s, no-op 0 writes
  { name: 'rbac-apply-1000', args: ['bench/rbac-apply.mjs', '--groups', '1000'] },
  // rbac apply --all-clusters over 10 catalog clusters (one real API server ten times) against one
  { name: 'rbac-fleet', args: ['bench/rbac-fleet.mjs'] },
  { name: 'token', args: ['bench/token.mjs'] },
  // k8s-auth proxy: added latency per request (p50/p99) and watch events/s, against direct
  { name: 'proxy', args: ['bench/proxy.mjs'] },
];

const onlyIndex = process.argv.indexOf('--only');
const runsIndex = process.argv.indexOf('--runs');
const runsArgs = runsIndex > 0 ? ['--runs', process.argv[runsIndex + 1] ?? ''] : [];
const checking = process.argv.includes('--check');
const only = onlyIndex > 0 ? new Set((process.argv[onlyIndex + 1] ?? '').split(',')) : undefined;

function run(bench) {
  return new Promise((resolve) => {
    const script = [...bench.args].reverse().find((a) => /\.(mjs|ts)$/.test(a)) ?? '';
    if (!existsSync(join(root, script))) return resolve({ bench: bench.name, error: `${script} is missing` });
    const child = spawn(process.execPath, [...bench.args, ...(bench.name === 'proxy' ? [] : runsArgs)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    // Each bench bounds its own runs; this is the backstop.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code !== 0 || !last) return resolve({ bench: bench.name, error: `exited ${code}` });
      try {
        resolve(JSON.parse(last));
      } catch {
        resolve({ bench: bench.name, error: 'printed no JSON result' });
      }
    });
  });
}

const results = [];
for (const bench of benches) {
  if (only && !only.has(bench.name)) continue;
  process.stderr.write(`\n== bench ${bench.name}\n`);
  results.push(await run(bench));
}
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
const file = join(root, 'bench', 'results', 'latest.json');
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2) + '\n');
process.stderr.write(`\nresults written to ${file}\n`);
for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
process.exitCode = results.some((r) => r.error) ? 1 : 0;
if (checking) {
  const { checkTargets } = await import('./lib/targets.mjs');
  const rows = checkTargets(results);
  process.stderr.write('\ntargets (issue 16), ratios measured in the same run:\n');
  for (const row of rows) process.stderr.write(`  ${row.ok ? 'ok  ' : 'OVER'} ${row.what.padEnd(52)} ${String(row.value).padStart(8)} ${row.unit} (target ${row.op} ${row.limit})\n`);
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
  process.stderr.write(process.exitCode ? 'bench --check: FAILED (over a target, or a benchmark failed)\n' : 'bench --check: every target met\n');
}
