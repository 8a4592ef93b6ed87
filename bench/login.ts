// Benchmark: how fast `k8s-auth login` gets the person to the browser, and how fast it finishes
// once the browser comes back. Run after `npm run build`:
//
//   npx tsx bench/login.ts [--runs N] [--catalog vault|file] [--think-ms MS] [--existing-contexts N]
//                          [--cli FILE] [--cpu-prof-dir DIR]
//   (env K8S_AUTH_BENCH_RUNS=N; default 15 runs, plus 2 warm-up runs not counted)
//   --think-ms: wait this long before requesting the callback, like a person at the provider's
//     page (default 0; 5000 lets idle keep-alive connections to the provider close first)
//   --cli: another build's entry point (default bin/k8s-auth.js), to compare builds
//   --existing-contexts N: start every run from a kubeconfig that already holds N other
//     clusters/users/contexts, as a person's ~/.kube/config does (default 0: a new file)
//
// Peers, all on 127.0.0.1: the Dex-like test provider over HTTPS (test/support/oidc-provider.ts,
// in this process) and a real OpenBao dev server (test/peers/openbao, its own process) holding
// the catalog entry in KV v2 over HTTPS; the CLI gets VAULT_ADDR/VAULT_TOKEN/VAULT_CACERT. Per run:
//  (a) startToBrowserMs: from just before spawning `node bin/k8s-auth.js login …` until the
//      browser command runs. The browser is bench/browser-stub.sh, which writes `date +%s%N`
//      and the URL to a marker file; its own cost (spawn, sh, fork of date: about 4 ms on the
//      2-core test machine) is measured here too and reported as stubOverheadMs (included in (a)).
//  (b) callbackToExitMs: the provider's sign-in is completed over HTTP without a browser (GET the
//      URL, POST the login form, follow redirects up to the loopback callback, not requesting
//      it); then from sending the callback request until the CLI process has exited.
// `node -e 0` (spawn to exit) is measured interleaved in the same run as the baseline. Every run
// must succeed (callback page 200, exit 0, an ID token in the kubeconfig) or the bench fails.
// Prints ONE JSON line on stdout and a readable summary on stderr.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { stringify } from 'yaml';
import { startTestProvider } from '../test/support/oidc-provider.js';
import { cleanEnv } from '../test/support/run-cli.js';
import { repoRoot } from '../test/support/skip.js';
import { createHttpSignIn } from './lib/provider-sign-in.js';
import { round1, summarize, type Summary } from './lib/stats.js';
import { epochOffsetMs, spawnTimed, timeToExit, waitForLine, type TimedChild } from './lib/timing.js';
import { startVaultCatalog, type CatalogEntryFields } from './lib/vault-catalog.js';

const TARGETS = { startToBrowserMs: 300, callbackToExitMs: 150 } as const;
const WARMUP = 2;
const CLUSTER = 'bench';
const JANE = { login: 'jane@example.com', password: 'jane-password' };

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function fail(message: string): never {
  process.stderr.write(`bench/login: ${message}\n`);
  process.exit(1);
}

const runsRaw = option('--runs') ?? process.env.K8S_AUTH_BENCH_RUNS ?? '15';
const RUNS = Number(runsRaw);
if (!Number.isInteger(RUNS) || RUNS < 3 || RUNS > 200) fail(`--runs must be a whole number from 3 to 200, not '${runsRaw}'`);
const catalogKind = option('--catalog') ?? 'vault';
if (catalogKind !== 'vault' && catalogKind !== 'file') fail(`--catalog must be vault or file, not '${catalogKind}'`);
const cpuProfDir = option('--cpu-prof-dir');
const thinkRaw = option('--think-ms') ?? '0';
const THINK_MS = Number(thinkRaw);
if (!Number.isFinite(THINK_MS) || THINK_MS < 0 || THINK_MS > 60_000) fail(`--think-ms must be 0 to 60000, not '${thinkRaw}'`);
const existingRaw = option('--existing-contexts') ?? '0';
const EXISTING = Number(existingRaw);
if (!Number.isInteger(EXISTING) || EXISTING < 0 || EXISTING > 500) fail(`--existing-contexts must be 0 to 500, not '${existingRaw}'`);
const cli = option('--cli') ?? join(repoRoot, 'bin', 'k8s-auth.js');
const stub = join(repoRoot, 'bench', 'browser-stub.sh');
if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) fail('dist/ is not built: run `npm run build` first');
if (!existsSync(cli)) fail(`${cli} does not exist`);

const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-login-'));
const provider = await startTestProvider();
const signIn = createHttpSignIn(provider.caPem);
const entry: CatalogEntryFields = {
  // login writes the server into the kubeconfig but never calls it: nothing listens on port 9
  server: 'https://127.0.0.1:9',
  'issuer-url': provider.issuer,
  'client-id': provider.clientId,
  'idp-certificate-authority-data': Buffer.from(provider.caPem).toString('base64'),
};
let catalogArgs: string[] = [];
let catalogEnv: Record<string, string> = {};
let closeCatalog = async (): Promise<void> => undefined;
let vaultReads = (): number => 0;
if (catalogKind === 'vault') {
  const vault = await startVaultCatalog(CLUSTER, entry);
  catalogEnv = vault.env;
  closeCatalog = vault.close;
  vaultReads = () => vault.readPaths().filter((p) => p === `/v1/secret/data/k8s-auth/clusters/${CLUSTER}`).length;
} else {
  const file = join(dir, 'clusters.yaml');
  writeFileSync(file, stringify({ clusters: { [CLUSTER]: entry } }));
  catalogArgs = ['--catalog', file];
}
// HOME in the temp dir; nothing from the developer's shell (proxies, BROWSER, DISPLAY, KUBECONFIG)
const env = cleanEnv({ HOME: dir, BROWSER: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, XDG_CONFIG_HOME: undefined, ...catalogEnv });
/** A kubeconfig with `n` unrelated clusters, users (client certificates) and contexts. */
function existingKubeconfig(n: number): string {
  const names = Array.from({ length: n }, (_, i) => `other-${i}`);
  const data = Buffer.from("A".repeat(1200)).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: names.map((name, i) => ({ name, cluster: { server: `https://10.0.0.${i + 1}:6443`, 'certificate-authority-data': data } })),
    users: names.map((name) => ({ name, user: { 'client-certificate-data': data, 'client-key-data': data } })),
    contexts: names.map((name) => ({ name, context: { cluster: name, user: name, namespace: 'default' } })),
    'current-context': names[0] ?? '',
    preferences: {},
  });
}
const existingText = EXISTING > 0 ? existingKubeconfig(EXISTING) : undefined;
const nodeArgs = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];

interface LoginSample {
  startToBrowserMs: number;
  callbackToExitMs: number;
}

async function loginOnce(i: number): Promise<LoginSample> {
  const marker = join(dir, `browser-${i}`);
  const kubeconfig = join(dir, `kubeconfig-${i}`);
  if (existingText !== undefined) writeFileSync(kubeconfig, existingText, { mode: 0o600 });
  const args = [...nodeArgs, cli, 'login', CLUSTER, ...catalogArgs, '--kubeconfig', kubeconfig, '--browser-command', `${stub} ${marker}`, '--timeout', '60'];
  const readsBefore = vaultReads();
  const epoch = epochOffsetMs();
  const run = spawnTimed(process.execPath, args, { env, cwd: repoRoot, timeoutMs: 90_000 });
  try {
    return await finishLogin(run, marker, kubeconfig, epoch, readsBefore);
  } catch (error) {
    run.child.kill('SIGKILL'); // nothing outlives a failed run
    throw error;
  }
}

async function finishLogin(run: TimedChild, marker: string, kubeconfig: string, epoch: number, readsBefore: number): Promise<LoginSample> {
  const exitedEarly = run.exited.then((r) => `the CLI exited (${String(r.code ?? r.signal)}) first: ${r.stderr.trim()}`);
  const line = await waitForLine(marker, 30_000, exitedEarly);
  const space = line.indexOf(' ');
  const browserAtEpochMs = Number(BigInt(line.slice(0, space)) / 1000n) / 1000;
  const startToBrowserMs = browserAtEpochMs - (epoch + run.startedAt);
  const callback = await signIn.signIn(line.slice(space + 1), JANE);
  if (THINK_MS > 0) await new Promise((resolve) => setTimeout(resolve, THINK_MS));

  const t0 = performance.now();
  const response = await fetch(callback, { signal: AbortSignal.timeout(30_000) });
  const page = await response.text();
  const result = await run.exited;
  const callbackToExitMs = result.exitedAt - t0;

  if (response.status !== 200) throw new Error(`callback answered ${response.status}: ${page.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 300)}`);
  if (result.code !== 0) throw new Error(`login exited ${String(result.code ?? result.signal)}: ${result.stderr.trim()}`);
  if (!/id-token: \S+/.test(readFileSync(kubeconfig, 'utf8'))) throw new Error(`no ID token in ${kubeconfig}`);
  if (catalogKind === 'vault' && vaultReads() !== readsBefore + 1) throw new Error(`the CLI did not read the catalog entry from Vault exactly once (${vaultReads() - readsBefore} reads)`);
  rmSync(marker, { force: true });
  return { startToBrowserMs, callbackToExitMs };
}

/** spawn → timestamp of the stub alone, as the CLI would start it (same argv shape). */
async function stubOverheadOnce(i: number): Promise<number> {
  const marker = join(dir, `stub-${i}`);
  const epoch = epochOffsetMs();
  const run = spawnTimed(stub, [marker, 'https://127.0.0.1:9/auth?x=1'], { env, cwd: repoRoot, timeoutMs: 10_000 });
  const line = await waitForLine(marker, 10_000, run.exited.then((r) => `stub exited ${String(r.code)}`));
  await run.exited;
  return Number(BigInt(line.slice(0, line.indexOf(' '))) / 1000n) / 1000 - (epoch + run.startedAt);
}

const baseline: number[] = [];
const stubOverhead: number[] = [];
const samples: LoginSample[] = [];
let exitCode = 0;
try {
  process.stderr.write(`bench/login: ${RUNS} runs (+${WARMUP} warm-up), catalog from ${catalogKind === 'vault' ? 'OpenBao (KV v2)' : 'a file'}, provider ${provider.issuer}\n`);
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const node = await timeToExit(process.execPath, ['-e', '0'], env, repoRoot);
    const stubMs = await stubOverheadOnce(i);
    const sample = await loginOnce(i);
    if (i < WARMUP) continue;
    baseline.push(node);
    stubOverhead.push(stubMs);
    samples.push(sample);
  }
  const startToBrowser = summarize(samples.map((s) => s.startToBrowserMs));
  const callbackToExit = summarize(samples.map((s) => s.callbackToExitMs));
  const baselineSummary = summarize(baseline);
  const stub = summarize(stubOverhead);
  const pass = { startToBrowserMs: startToBrowser.median <= TARGETS.startToBrowserMs, callbackToExitMs: callbackToExit.median <= TARGETS.callbackToExitMs };
  const pick = (s: Summary) => ({ median: s.median, p90: s.p90 });
  const result = {
    bench: 'login',
    runs: RUNS,
    catalog: catalogKind,
    ...(THINK_MS > 0 ? { thinkMs: THINK_MS } : {}),
    ...(EXISTING > 0 ? { existingContexts: EXISTING } : {}),
    baselineMs: baselineSummary.median,
    stubOverheadMs: stub.median,
    startToBrowserMs: pick(startToBrowser),
    callbackToExitMs: pick(callbackToExit),
    targets: TARGETS,
    pass,
  };
  const line = (name: string, s: Summary, target?: number) =>
    `  ${name.padEnd(18)} median ${String(s.median).padStart(6)} ms  p90 ${String(s.p90).padStart(6)} ms  min ${String(s.min).padStart(6)}  max ${String(s.max).padStart(6)}${
      target !== undefined ? `   target ≤ ${target} ms: ${s.median <= target ? 'PASS' : 'FAIL'}` : ''
    }\n`;
  process.stderr.write(
    line('node -e 0', baselineSummary) +
      line('start → browser', startToBrowser, TARGETS.startToBrowserMs) +
      line('callback → exit', callbackToExit, TARGETS.callbackToExitMs) +
      line('(stub sh+date)', stub) +
      `  start → browser is ${round1(startToBrowser.median / baselineSummary.median)}× node -e 0 and includes the stub's ${stub.median} ms\n`,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stderr.write(`bench/login: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await signIn.close();
  await closeCatalog();
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
