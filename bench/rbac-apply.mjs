#!/usr/bin/env node
// Benchmark: `k8s-auth rbac apply` (dist CLI, child process) for an ID token with 100 mapped
// groups against a local kube-apiserver, then the same apply again. Targets: the first run
// finishes within 2 s with bounded parallel requests (at most 8 in flight), and the second
// (no-op) run issues no writes. Plain node, run after `npm run build`:
//
//   npm run build && node bench/rbac-apply.mjs [--runs N] [--groups N]
//
// --groups 1000 is issue 16's scale figure (target: the first apply under 5 s, the no-op 0 writes);
// the default 100 keeps the 2 s target.
//
// The control plane and the test provider are TypeScript (test/cluster/fixture.ts); they are
// loaded by bench/lib/control-plane-bench.mjs (tsx's scoped tsImport). Needs the control plane
// binaries (test/cluster/build-control-plane.sh). Prints one JSON line on stdout.
//
// Each run is a different user with its own 100 groups (so the first apply really creates its
// managed ClusterRoles): 50 groups with custom rules (a managed ClusterRole and a
// ClusterRoleBinding each) and 50 binding `view` in one namespace each (a RoleBinding each):
// 153 objects with the ServiceAccount and its self-service token Role and RoleBinding. Request
// counts come from the CLI's own `-o json` report.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, timedNode } from './lib/child-timing.mjs';
import { loadControlPlaneBench, writeBenchUser } from './lib/control-plane-bench.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'k8s-auth.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = Math.min(10, Math.max(1, Number(runsArg > 0 ? process.argv[runsArg + 1] : 3) || 3));
const groupsArg = process.argv.indexOf('--groups');
const GROUPS = Math.min(5000, Math.max(50, Number(groupsArg > 0 ? process.argv[groupsArg + 1] : 100) || 100));
const NAMESPACED = 50;
const TARGET_FIRST_MS = GROUPS > 100 ? 5000 : 2000;
const TARGET_MAX_IN_FLIGHT = 8;

function fail(message) {
  process.stderr.write(`bench/rbac-apply: ${message}\n`);
  process.exit(1);
}

const { startClusterFixture, createNamespaces } = await loadControlPlaneBench('rbac-apply', root);
const timed = (args, env) => timedNode(args, env, 60_000);
const round = (x) => Math.round(x);
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-rbac-'));
let fx;
try {
  fx = await startClusterFixture();
  const namespaces = Array.from({ length: NAMESPACED }, (_, i) => `bench-${String(i).padStart(2, '0')}`);
  await createNamespaces(fx.cp, fx.cp.adminAuth, namespaces);
  const caFile = join(dir, 'idp-ca.pem');
  writeFileSync(caFile, fx.provider.caPem);
  const env = { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: fx.cp.adminKubeconfig };

  // node startup alone, for scale
  await timed(['-e', '0'], env);
  const nodeMs = median(await Promise.all([0, 1, 2].map(() => timed(['-e', '0'], env).then((r) => r.ms))));

  const runs = [];
  for (let run = 0; run < RUNS; run += 1) {
    const { mappingFile, tokenFile } = await writeBenchUser({ dir, provider: fx.provider, label: `bench-${run}`, groups: GROUPS, namespaces, namespacedCount: NAMESPACED });
    const args = [cli, 'rbac', 'apply', '--id-token', tokenFile, '--issuer-url', fx.provider.issuer, '--client-id', fx.provider.clientId, '--idp-ca-file', caFile, '--mapping', mappingFile, '-o', 'json'];

    const first = await timed(args, env);
    const a = JSON.parse(first.out);
    const second = await timed(args, env);
    const b = JSON.parse(second.out);
    if (a.groups.granted.length !== GROUPS) throw new Error(`run ${run}: ${a.groups.granted.length} groups granted, expected ${GROUPS}`);
    runs.push({
      firstMs: round(first.ms),
      secondMs: round(second.ms),
      firstObjects: a.writes,
      firstRequests: a.api.requests,
      firstWrites: a.api.writes,
      firstMaxInFlight: a.api.maxInFlight,
      secondPlan: b.plan.length,
      secondRequests: b.api.requests,
      secondWrites: b.api.writes,
      secondMaxInFlight: b.api.maxInFlight,
    });
    process.stderr.write(`bench/rbac-apply: run ${run + 1}/${RUNS}: first ${round(first.ms)} ms (${a.api.writes} writes, ${a.api.requests} requests, ≤${a.api.maxInFlight} in flight), no-op ${round(second.ms)} ms (${b.api.writes} writes, ${b.api.requests} requests)\n`);
  }

  const firstMs = median(runs.map((r) => r.firstMs));
  const secondMs = median(runs.map((r) => r.secondMs));
  const maxInFlight = Math.max(...runs.flatMap((r) => [r.firstMaxInFlight, r.secondMaxInFlight]));
  const noopWrites = Math.max(...runs.map((r) => r.secondWrites));
  const result = {
    bench: 'rbac-apply',
    groups: GROUPS,
    objects: runs[0].firstObjects,
    runs: RUNS,
    nodeMs: round(nodeMs),
    firstApplyMs: round(firstMs),
    firstApplyMaxMs: Math.max(...runs.map((r) => r.firstMs)),
    noopApplyMs: round(secondMs),
    firstRequests: runs[0].firstRequests,
    firstWrites: runs[0].firstWrites,
    noopRequests: runs[0].secondRequests,
    noopWrites,
    maxInFlight,
    target: { firstApplyMs: TARGET_FIRST_MS, noopWrites: 0, maxInFlight: TARGET_MAX_IN_FLIGHT },
    met: firstMs <= TARGET_FIRST_MS && noopWrites === 0 && maxInFlight <= TARGET_MAX_IN_FLIGHT && runs.every((r) => r.secondPlan === 0),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
} finally {
  await fx?.stop();
  rmSync(dir, { recursive: true, force: true });
}
