#!/usr/bin/env node
// Benchmark: wall time of `k8s-auth token --ttl 12h` against a local kube-apiserver, as a ratio
// to `node -e 0` (target: 2x or less). Plain node, run after `npm run build`:
//
//   npm run build && node bench/token.mjs [--runs N] [--cpu-prof-dir DIR]   (DIR/<case>: a CPU profile of each timed run)
//
// The control plane harness is TypeScript (test/cluster/control-plane.ts); it is loaded with
// tsx's scoped tsImport, so nothing else in this process is transpiled. Needs the control plane
// binaries (test/cluster/build-control-plane.sh). Prints one JSON line on stdout.
//
// Four ways of minting are timed, interleaved with `node -e 0` so machine noise hits all alike:
//  - direct: `--service-account bench` with the admin kubeconfig (client certificate), node:https,
//    no @kubernetes/client-node; the same path as a CI token kubeconfig;
//  - clientNode: the same with a user that is an exec plugin (a node script answering the admin
//    certificate), which goes through @kubernetes/client-node: informative only;
//  - selfOidc: the default path, `k8s-auth login prod && k8s-auth token --ttl 12h`: no
//    --service-account, jane's own (named from her ID token), her kubeconfig user the
//    `auth-provider: oidc` one `login` writes, the bearer its ID token;
//  - selfExec: the same with the exec-plugin user `login --exec` writes (`k8s-auth credential
//    prod …`), the ID token read from its token cache (bench/lib/self-service-user.mjs).
//  - floor (informative): jane's oidc case run by a throwaway bundle of only what the default
//    path runs (usecases/mint-token.js and core/token-output.js from dist/, no commander, no CLI,
//    fixed options, with a V8 code cache like the CLI's), built into bench/results/ (git-ignored;
//    its packages resolve from the repo's node_modules as the CLI's do): what a
//    `token` hot path skipping the CLI could reach at best on this machine.
// The apiserver trusts the test provider (test/cluster/fixture.ts); `k8s-auth rbac apply` gives
// jane her ServiceAccount and the self-service Role/RoleBinding first. A --verbose run of each
// self-service case records how the CLI called TokenRequest (selfOidcVia / selfExecVia).
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { tsImport } from 'tsx/esm/api';
import { JANE, setUpSelfServiceUser } from './lib/self-service-user.mjs';
import { median, timedNode } from './lib/child-timing.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'k8s-auth.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = Math.min(50, Math.max(3, Number(runsArg > 0 ? process.argv[runsArg + 1] : 15) || 15));
const WARMUP = 2;
const profIndex = process.argv.indexOf('--cpu-prof-dir');
const cpuProfDir = profIndex > 0 ? process.argv[profIndex + 1] : undefined;
const profiled = (kind, args) => (cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, kind), ...args] : args);
const TARGET_RATIO = 2;

function fail(message) {
  process.stderr.write(`bench/token: ${message}\n`);
  process.exit(1);
}

if (!existsSync(join(root, 'dist', 'cli.js'))) fail('dist/ is not built: run `npm run build` first');

const timed = (args, env) => timedNode(args, env, 30_000);

const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const round = (x) => Math.round(x * 10) / 10;
const round2 = (x) => Math.round(x * 100) / 100;

const { controlPlaneBinaries } = await tsImport('../test/cluster/control-plane.ts', import.meta.url);
const { startClusterFixture } = await tsImport('../test/cluster/fixture.ts', import.meta.url);
const { apiRequest } = await tsImport('../test/cluster/api-client.ts', import.meta.url);
const bins = controlPlaneBinaries();
if (!bins.ok) fail(`no control plane: ${bins.missing} (run test/cluster/build-control-plane.sh)`);

/** The ServiceAccount a printed token is for (its `sub`), without verifying it. */
const subjectOf = (token) => JSON.parse(Buffer.from(token.trim().split('.')[1] ?? '', 'base64url').toString('utf8')).sub;
/** How a --verbose run says it called TokenRequest: 'direct' or 'client-node'. */
const viaOf = (stderr) => (/via @kubernetes\/client-node/.test(stderr) ? 'client-node' : /direct HTTPS/.test(stderr) ? 'direct' : 'unknown');

const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-token-'));
const fx = await startClusterFixture();
const cp = fx.cp;
const controlPlaneStartMs = fx.timings.controlPlaneMs;
let result;
try {
  const sa = await apiRequest(cp, {
    method: 'POST',
    path: '/api/v1/namespaces/default/serviceaccounts',
    auth: cp.adminAuth,
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bench' } },
  });
  if (sa.status !== 201) throw new Error(`creating the ServiceAccount: ${sa.status} ${sa.body}`);

  // an exec-plugin user answering the admin client certificate: forces the client-node path
  const plugin = join(dir, 'plugin.mjs');
  const credential = {
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    kind: 'ExecCredential',
    status: { clientCertificateData: cp.adminAuth.certPem, clientKeyData: cp.adminAuth.keyPem },
  };
  writeFileSync(plugin, `process.stdout.write(${JSON.stringify(JSON.stringify(credential))});\n`);
  const execKubeconfig = join(dir, 'exec.kubeconfig');
  writeFileSync(
    execKubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'exec',
      clusters: [{ name: 'test', cluster: { server: cp.server, 'certificate-authority-data': cp.caData } }],
      users: [{ name: 'plugin', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: process.execPath, args: [plugin], interactiveMode: 'Never' } } }],
      contexts: [{ name: 'exec', context: { cluster: 'test', user: 'plugin' } }],
    }),
    { mode: 0o600 },
  );

  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(K8S_AUTH_|VAULT_|KUBECONFIG$|HTTPS?_PROXY$|https?_proxy$)/.test(k)));
  const directEnv = { ...baseEnv, HOME: dir, KUBECONFIG: cp.adminKubeconfig };
  const execEnv = { ...baseEnv, HOME: dir, KUBECONFIG: execKubeconfig };
  const tokenArgs = [cli, 'token', '--service-account', 'bench', '--ttl', '12h'];

  // jane: her ServiceAccount via `rbac apply`, and her two kinds of login
  const jane = await setUpSelfServiceUser({ root, dir: join(dir, 'jane'), fx, baseEnv });
  const selfArgs = [cli, 'token', '--ttl', '12h'];
  const selfOidcEnv = { ...baseEnv, HOME: join(dir, 'jane'), KUBECONFIG: jane.oidcKubeconfig };
  const selfExecEnv = { ...baseEnv, HOME: join(dir, 'jane'), KUBECONFIG: jane.execKubeconfig };
  const floorArgs = [await buildFloorBundle(join(root, 'bench', 'results'))];
  const selfOidcVia = viaOf((await timed([...selfArgs, '--verbose'], selfOidcEnv)).err);
  const selfExecVia = viaOf((await timed([...selfArgs, '--verbose'], selfExecEnv)).err);

  const expectToken = (what, run, sa) => {
    if (!/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/.test(run.out)) throw new Error(`${what}: the CLI did not print a token`);
    if (sa && subjectOf(run.out) !== `system:serviceaccount:${sa}`) throw new Error(`${what}: minted for ${subjectOf(run.out)}, not ${sa}`);
  };
  const janeSa = `${JANE.namespace}:${JANE.serviceAccount}`;
  const samples = { node: [], direct: [], clientNode: [], selfOidc: [], selfExec: [], floor: [] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const node = await timed(['-e', '0'], baseEnv);
    const direct = await timed(profiled('direct', tokenArgs), directEnv);
    const viaClientNode = await timed(profiled('clientNode', tokenArgs), execEnv);
    const selfOidc = await timed(profiled('selfOidc', selfArgs), selfOidcEnv);
    const selfExec = await timed(profiled('selfExec', selfArgs), selfExecEnv);
    const floor = await timed(floorArgs, selfOidcEnv);
    expectToken('direct', direct, 'default:bench');
    if (!/^eyJ/.test(viaClientNode.out)) throw new Error('clientNode: the CLI did not print a token');
    expectToken('selfOidc', selfOidc, janeSa);
    expectToken('selfExec', selfExec, janeSa);
    expectToken('floor', floor, janeSa);
    if (i < WARMUP) continue;
    samples.node.push(node.ms);
    samples.direct.push(direct.ms);
    samples.clientNode.push(viaClientNode.ms);
    samples.selfOidc.push(selfOidc.ms);
    samples.selfExec.push(selfExec.ms);
    samples.floor.push(floor.ms);
  }
  const nodeMs = median(samples.node);
  const directMs = median(samples.direct);
  const clientNodeMs = median(samples.clientNode);
  const selfOidcMs = median(samples.selfOidc);
  const selfExecMs = median(samples.selfExec);
  result = {
    bench: 'token',
    command: 'k8s-auth token --service-account bench --ttl 12h',
    apiserver: 'kube-apiserver v1.20 (local)',
    runs: RUNS,
    nodeMedianMs: round(nodeMs),
    tokenMedianMs: round(directMs),
    tokenP90Ms: round(percentile(samples.direct, 90)),
    ratio: round2(directMs / nodeMs),
    target: TARGET_RATIO,
    withinTarget: directMs / nodeMs <= TARGET_RATIO,
    clientNodeMedianMs: round(clientNodeMs),
    clientNodeRatio: round2(clientNodeMs / nodeMs),
    selfCommand: 'k8s-auth token --ttl 12h',
    selfOidcMedianMs: round(selfOidcMs),
    selfOidcP90Ms: round(percentile(samples.selfOidc, 90)),
    selfOidcRatio: round2(selfOidcMs / nodeMs),
    selfOidcWithinTarget: selfOidcMs / nodeMs <= TARGET_RATIO,
    selfOidcVia,
    selfExecMedianMs: round(selfExecMs),
    selfExecP90Ms: round(percentile(samples.selfExec, 90)),
    selfExecRatio: round2(selfExecMs / nodeMs),
    selfExecWithinTarget: selfExecMs / nodeMs <= TARGET_RATIO,
    selfExecVia,
    floorMedianMs: round(median(samples.floor)),
    floorRatio: round2(median(samples.floor) / nodeMs),
    // set, it moves OpenSSL's CA loading (~35 ms) into every node start, `node -e 0` included
    nodeExtraCaCerts: Boolean(baseEnv.NODE_EXTRA_CA_CERTS),
    controlPlaneStartMs,
  };
} finally {
  await fx.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(result)}\n`);

/** The floor case's bundle (see the top): mint-token and token-output alone, one CommonJS file with its code cache. */
async function buildFloorBundle(into) {
  mkdirSync(into, { recursive: true });
  const entry = join(into, 'token-floor-entry.mjs');
  const outfile = join(into, 'token-floor.cjs');
  const fromDist = (file) => JSON.stringify(join(root, 'dist', file));
  writeFileSync(
    entry,
    `import { mintToken } from ${fromDist('usecases/mint-token.js')};\nimport { renderTokenOutput } from ${fromDist('core/token-output.js')};\n` +
      `mintToken({ ttlSeconds: 43200, namespace: 'default', audiences: [], usernameClaim: 'email', needConnection: false })\n` +
      `  .then((r) => process.stdout.write(renderTokenOutput('token', r.minted)), (e) => { process.stderr.write(String(e)); process.exitCode = 1; });\n`,
  );
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    packages: 'external',
    define: { 'import.meta.url': JSON.stringify(pathToFileURL(join(root, 'dist', 'adapters', 'kubeconfig-read.js')).href) },
    logLevel: 'error',
  });
  const { writeCodeCache } = createRequire(import.meta.url)('../bin/code-cache.js');
  writeCodeCache(outfile);
  const starter = join(into, 'token-floor-start.cjs');
  writeFileSync(starter, `require(${JSON.stringify(join(root, 'bin', 'code-cache.js'))}).requireWithCodeCache(${JSON.stringify(outfile)});\n`);
  return starter;
}
