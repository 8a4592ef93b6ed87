#!/usr/bin/env node
// Where a CLI run's time went, from a V8 CPU profile (`node --cpu-prof`, e.g. the files
// `npx tsx bench/login.ts --cpu-prof-dir DIR` leaves): sampled time per module group (each
// package under node_modules, each file of dist/, node's own internals, garbage collection,
// idle = waiting on the network or a child), from the first sample up to the first sample whose
// stack holds the function `--until` (default runCommand, the browser launcher's spawn), so the
// table is "start → browser invoked". Several profiles: the median of each group over them.
//
// node's own internals (module loading, TLS, crypto) are also charged to the nearest module of
// ours or of a package up the stack that made them run (the "caused by" table), and listed by
// function name.
//
//   node bench/lib/cpu-profile-summary.mjs [--until NAME] [--top N] FILE.cpuprofile...
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const value = args[i + 1];
  args.splice(i, 2);
  return value;
};
const until = opt('--until', 'runCommand');
const top = Number(opt('--top', '25'));
if (args.length === 0) {
  process.stderr.write('usage: node bench/lib/cpu-profile-summary.mjs [--until NAME] [--top N] FILE.cpuprofile...\n');
  process.exit(2);
}

function group(url, functionName) {
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(idle)') return '(idle: network, timers, children)';
  if (functionName === '(program)') return '(program: V8, compile, native)';
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `k8s-auth ${url.slice(dist + 1)}`;
  const bin = url.indexOf('/bin/');
  if (bin >= 0) return `k8s-auth ${url.slice(bin + 1)}`;
  return url;
}

function summarize(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hasUntil = (id) => {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) if (byId.get(cur)?.callFrame.functionName === until) return true;
    return false;
  };
  const totals = new Map();
  const causes = new Map();
  const internals = new Map();
  const cause = (id) => {
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (f && f.url && !f.url.startsWith('node:')) return group(f.url, f.functionName);
    }
    return '(node itself: bootstrap, event loop)';
  };
  let elapsed = 0;
  let reached = false;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (hasUntil(id)) {
      reached = true;
      break;
    }
    elapsed += dt;
    const frame = byId.get(id)?.callFrame ?? { url: '', functionName: '' };
    const g = group(frame.url, frame.functionName);
    totals.set(g, (totals.get(g) ?? 0) + dt);
    const c = g === 'node:internal' || g === '(native)' || g === '(gc)' || g === '(program: V8, compile, native)' ? cause(id) : g;
    causes.set(c, (causes.get(c) ?? 0) + dt);
    if (g === 'node:internal' || g === '(native)') {
      const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^node:/, '')}`;
      internals.set(name, (internals.get(name) ?? 0) + dt);
    }
  }
  return { totals, causes, internals, elapsed, reached };
}

const runs = args.map(summarize);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const table = (title, key) => {
  const groups = new Set(runs.flatMap((r) => [...r[key].keys()]));
  const rows = [...groups].map((g) => [g, median(runs.map((r) => r[key].get(g) ?? 0))]).sort((a, b) => b[1] - a[1]);
  process.stdout.write(`${title}\n`);
  for (const [g, ms] of rows.slice(0, top)) process.stdout.write(`${ms.toFixed(1).padStart(8)} ms  ${g}\n`);
};
const reached = runs.filter((r) => r.reached).length;
process.stdout.write(`${runs.length} profile(s); '${until}' reached in ${reached}; median profiled time to it: ${median(runs.map((r) => r.elapsed)).toFixed(1)} ms\n`);
table('-- self time by module', 'totals');
table('-- caused by (node internals, gc and compile charged to the nearest module up the stack)', 'causes');
table('-- node internals by function', 'internals');
