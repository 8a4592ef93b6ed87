#!/usr/bin/env node
// Benchmark: `k8s-auth rbac apply --all-clusters` over a catalog of 10 clusters against
// `rbac apply <cluster>` on one, measured alternately in the same run. Issue 16's target: the
// ten-cluster apply under 2× one cluster's time, with bounded concurrency. Plain node, run after
// `npm run build`:
//
//   npm run build && node bench/rbac-fleet.mjs [--runs N] [--clusters N] [--groups N] [--parallel N]
//                                              [--cpu-prof-dir DIR]   (DIR/one, DIR/all: a CPU profile of each run)
//
// The clusters are one real kube-apiserver ten times (the issue allows it: ten real API servers
// on a 2-core machine would each take a core to start): ten kubeconfig clusters and contexts,
// all on this server with the admin's credentials, and ten catalog entries (a file) with the test
// provider's issuer, client and CA. So the ten applies of one user mean the same objects: the
// first ones to run race on the creates (each create that meets 409 AlreadyExists reads the
// object and converges), the later ones find them made. Per run, a new user (so the applies
// really create): one `rbac apply c00` for user A and one `--all-clusters` for user B, in
// alternating order. Each user has --groups mapped groups (default 20: half a managed
// ClusterRole and binding each, half `view` in a namespace each). Needs the control plane
// (test/cluster/build-control-plane.sh). Prints one JSON line on stdout.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { median, timedNode } from './lib/child-timing.mjs';
import { loadControlPlaneBench, writeBenchUser } from './lib/control-plane-bench.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'k8s-auth.js');
function numberOption(name, fallback, min, max) {
  const i = process.argv.indexOf(name);
  const value = i > 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(value) || value < min || value > max) fail(`${name} must be a whole number from ${min} to ${max}`);
  return value;
}
function fail(message) {
  process.stderr.write(`bench/rbac-fleet: ${message}\n`);
  process.exit(1);
}
const RUNS = numberOption('--runs', 15, 3, 30);
const CLUSTERS = numberOption('--clusters', 10, 2, 20);
const GROUPS = numberOption('--groups', 20, 2, 200);
const PARALLEL = numberOption('--parallel', 4, 1, 16);
const TARGET_RATIO = 2;
const profIndex = process.argv.indexOf('--cpu-prof-dir');
const cpuProfDir = profIndex > 0 ? process.argv[profIndex + 1] : undefined;
const profiled = (kind, args) => (cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, kind), ...args] : args);

const { startClusterFixture, createNamespaces } = await loadControlPlaneBench('rbac-fleet', root);
const timed = (args, env) => timedNode(args, env, 120_000);
const round = (x) => Math.round(x);
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-fleet-'));
let fx;
try {
  fx = await startClusterFixture();
  const namespaced = Math.floor(GROUPS / 2);
  const namespaces = Array.from({ length: namespaced }, (_, i) => `fleet-${String(i).padStart(3, '0')}`);
  await createNamespaces(fx.cp, fx.cp.adminAuth, namespaces);
  const clusters = Array.from({ length: CLUSTERS }, (_, i) => `c${String(i).padStart(2, '0')}`);
  const admin = parse(readFileSync(fx.cp.adminKubeconfig, 'utf8'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: clusters.map((name) => ({ name, cluster: { server: fx.cp.server, 'certificate-authority-data': fx.cp.caData } })),
      users: [{ name: 'admin', user: admin.users[0].user }],
      contexts: clusters.map((name) => ({ name, context: { cluster: name, user: 'admin' } })),
      'current-context': clusters[0],
    }),
    { mode: 0o600 },
  );
  const entry = { server: fx.cp.server, 'issuer-url': fx.provider.issuer, 'client-id': fx.provider.clientId, 'idp-certificate-authority-data': Buffer.from(fx.provider.caPem).toString('base64') };
  const catalog = join(dir, 'catalog.yaml');
  writeFileSync(catalog, stringify({ clusters: Object.fromEntries(clusters.map((name) => [name, entry])) }));
  const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig, K8S_AUTH_CATALOG: catalog };

  /** A mapping and a token for a new user with GROUPS groups; returns the apply args (without the cluster part). */
  async function userArgs(label) {
    const { mappingFile, tokenFile } = await writeBenchUser({ dir, provider: fx.provider, label, groups: GROUPS, namespaces, namespacedCount: namespaced });
    return [cli, 'rbac', 'apply', '--id-token', tokenFile, '--mapping', mappingFile, '-o', 'json'];
  }

  // warm-up, not counted: one of each
  await timed([...(await userArgs('warm-one')), clusters[0]], env);
  await timed([...(await userArgs('warm-all')), '--all-clusters', '--parallel', String(PARALLEL)], env);

  const runs = [];
  for (let run = 0; run < RUNS; run += 1) {
    const one = async () => {
      const r = await timed(profiled('one', [...(await userArgs(`r${run}-one`)), clusters[0]]), env);
      const json = JSON.parse(r.out);
      if (json.groups.granted.length !== GROUPS) throw new Error(`run ${run}: one cluster granted ${json.groups.granted.length} groups`);
      return { ms: r.ms, writes: json.api.writes };
    };
    const all = async () => {
      const r = await timed(profiled('all', [...(await userArgs(`r${run}-all`)), '--all-clusters', '--parallel', String(PARALLEL)]), env);
      const json = JSON.parse(r.out);
      if (json.clusters.length !== CLUSTERS || !json.clusters.every((c) => c.ok)) throw new Error(`run ${run}: not every cluster succeeded`);
      return { ms: r.ms, writes: json.clusters.reduce((n, c) => n + c.result.api.writes, 0), requests: json.clusters.reduce((n, c) => n + c.result.api.requests, 0) };
    };
    // alternate which goes first
    let oneRun;
    let allRun;
    if (run % 2 === 0) {
      oneRun = await one();
      allRun = await all();
    } else {
      allRun = await all();
      oneRun = await one();
    }
    runs.push({ oneMs: round(oneRun.ms), allMs: round(allRun.ms), oneWrites: oneRun.writes, allWrites: allRun.writes, allRequests: allRun.requests });
    process.stderr.write(`bench/rbac-fleet: run ${run + 1}/${RUNS}: one cluster ${round(oneRun.ms)} ms (${oneRun.writes} writes), ${CLUSTERS} clusters ${round(allRun.ms)} ms (${allRun.writes} writes, ${allRun.requests} requests)\n`);
  }
  const oneMs = median(runs.map((r) => r.oneMs));
  const allMs = median(runs.map((r) => r.allMs));
  const ratio = Math.round((allMs / oneMs) * 100) / 100;
  const result = {
    bench: 'rbac-fleet',
    clusters: CLUSTERS,
    groups: GROUPS,
    parallel: PARALLEL,
    runs: RUNS,
    oneClusterMs: round(oneMs),
    allClustersMs: round(allMs),
    ratio,
    oneClusterWrites: runs[0].oneWrites,
    allClustersWrites: runs[0].allWrites,
    allClustersRequests: runs[0].allRequests,
    target: { ratio: TARGET_RATIO },
    met: ratio <= TARGET_RATIO,
  };
  process.stderr.write(`bench/rbac-fleet: median one cluster ${round(oneMs)} ms, ${CLUSTERS} clusters (--parallel ${PARALLEL}) ${round(allMs)} ms: ${ratio}× (target ≤ ${TARGET_RATIO}×)\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
} finally {
  await fx?.stop();
  rmSync(dir, { recursive: true, force: true });
}
