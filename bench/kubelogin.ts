// Benchmark: k8s-auth beside int128/kubelogin (the tool our users come from), in ONE run, against
// the same identity provider, each as a ratio to `node -e 0` measured in the same rounds.
// Run after `npm run build` and test/peers/kubelogin/install.sh:
//
//   npx tsx bench/kubelogin.ts [--runs N]      (env K8S_AUTH_BENCH_RUNS=N; default 15, + 2 warm-up)
//
// The provider is the Dex-shaped test provider (test/support/oidc-provider.ts) over HTTPS with a
// throwaway CA, in this process. Set-up, both through the provider's real sign-in (completed over
// HTTP without a browser, bench/lib/provider-sign-in.ts):
//  - k8s-auth: `k8s-auth login bench --exec` with a catalog file; the kubeconfig's exec user is
//    what the hot path runs;
//  - kubelogin: `kubelogin get-token --oidc-issuer-url … --oidc-client-id … --certificate-authority …`
//    (a kubelogin kubeconfig's args), which signs in through its loopback listener and caches the
//    token in its --token-cache-dir.
// Then, per round, interleaved (so machine noise hits every column alike):
//  1. `node -e 0`, spawn → exit;
//  2. exec hot path, spawn → exit, with KUBERNETES_EXEC_INFO as kubectl sets it: ours (`node
//     bin/k8s-auth.js credential bench …`, the args login wrote) and kubelogin's `get-token` with
//     its warm cache; each must print an ExecCredential with the cached token. When the machine
//     sets NODE_EXTRA_CA_CERTS (it makes every node start ~35 ms slower, which flatters ratios),
//     `node -e 0` and our hot path are also timed without it (the `…NoExtraCa` fields);
//  3. start → browser invoked: from just before spawn until the browser command writes its time
//     (`date +%s%N`): ours (`login bench --browser-command 'bench/browser-stub.sh FILE'`, catalog
//     file; and the catalog in OpenBao, as bench/login.ts runs it) and kubelogin's
//     (`get-token … --browser-command bench/kubelogin-browser-stub.sh` with an empty cache). Both
//     fetch the provider's discovery and start a loopback listener before opening the browser;
//     kubelogin opens its own listener's URL, which then redirects to the provider. The process
//     is killed once the browser was invoked. Both stubs are `sh` + `date`.
// Prints ONE JSON line on stdout and a readable table on stderr.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { parse, stringify } from 'yaml';
import { startTestProvider } from '../test/support/oidc-provider.js';
import { cleanEnv } from '../test/support/run-cli.js';
import { repoRoot } from '../test/support/skip.js';
import { freeLoopbackPort } from '../test/peers/process.js';
import { KUBELOGIN_VERSION, kubeloginAvailable, kubeloginBinary, kubeloginBrowserArgs, kubeloginGetTokenArgs, KUBELOGIN_MISSING, execInfo } from '../test/peers/kubelogin/kubelogin.js';
import { createHttpSignIn } from './lib/provider-sign-in.js';
import { round1, summarize, type Summary } from './lib/stats.js';
import { epochOffsetMs, spawnTimed, waitForLine } from './lib/timing.js';
import { startVaultCatalog } from './lib/vault-catalog.js';

const WARMUP = 2;
const CLUSTER = 'bench';
const JANE = { login: 'jane@example.com', password: 'jane-password' };
const TARGETS = { hotPathRatio: 1.1, loginStartRatio: 2 } as const;

function fail(message: string): never {
  process.stderr.write(`bench/kubelogin: ${message}\n`);
  process.exit(1);
}
const runsIndex = process.argv.indexOf('--runs');
const runsRaw = (runsIndex > 0 ? process.argv[runsIndex + 1] : undefined) ?? process.env.K8S_AUTH_BENCH_RUNS ?? '15';
const RUNS = Number(runsRaw);
if (!Number.isInteger(RUNS) || RUNS < 3 || RUNS > 200) fail(`--runs must be a whole number from 3 to 200, not '${runsRaw}'`);
if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) fail('dist/ is not built: run `npm run build` first');
if (!kubeloginAvailable()) fail(KUBELOGIN_MISSING);

const cli = join(repoRoot, 'bin', 'k8s-auth.js');
const ourStub = join(repoRoot, 'bench', 'browser-stub.sh');
const kubeloginStub = join(repoRoot, 'bench', 'kubelogin-browser-stub.sh');
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-kubelogin-'));
const provider = await startTestProvider();
const signIn = createHttpSignIn(provider.caPem);
const entry = {
  server: 'https://127.0.0.1:9', // never called: login writes it, the hot path doesn't connect
  'issuer-url': provider.issuer,
  'client-id': provider.clientId,
  'idp-certificate-authority-data': Buffer.from(provider.caPem).toString('base64'),
};
const catalog = join(dir, 'clusters.yaml');
writeFileSync(catalog, stringify({ clusters: { [CLUSTER]: entry } }));
const vault = await startVaultCatalog(CLUSTER, entry);

// the machine's environment minus the developer's K8S_AUTH_/VAULT_/KUBECONFIG/proxy settings
const env = cleanEnv({ HOME: dir, BROWSER: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, XDG_CONFIG_HOME: undefined });
const extraCa = env.NODE_EXTRA_CA_CERTS !== undefined && env.NODE_EXTRA_CA_CERTS !== '';
const envNoExtraCa = { ...env, NODE_EXTRA_CA_CERTS: undefined };
const execEnv = (e: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...e, KUBERNETES_EXEC_INFO: execInfo(false, 'client.authentication.k8s.io/v1') });

interface Exit {
  ms: number;
  stdout: string;
}
async function timedExit(file: string, args: readonly string[], e: NodeJS.ProcessEnv): Promise<Exit> {
  const run = spawnTimed(file, args, { env: e, cwd: repoRoot, timeoutMs: 30_000 });
  const r = await run.exited;
  if (r.code !== 0) throw new Error(`${file} ${args.slice(0, 2).join(' ')} exited ${String(r.code ?? r.signal)}: ${r.stderr.trim()}`);
  return { ms: r.exitedAt - run.startedAt, stdout: r.stdout };
}
function tokenOf(out: string, what: string): string {
  const cred = JSON.parse(out) as { kind?: string; status?: { token?: string } };
  if (cred.kind !== 'ExecCredential' || typeof cred.status?.token !== 'string') throw new Error(`${what} printed no ExecCredential`);
  return cred.status.token;
}

/** Spawns a sign-in, returns start → browser-invoked ms; `complete` finishes it over HTTP, else it is killed. */
async function startToBrowser(file: string, args: readonly string[], e: NodeJS.ProcessEnv, marker: string, complete = false): Promise<number> {
  rmSync(marker, { force: true });
  const epoch = epochOffsetMs();
  const run = spawnTimed(file, args, { env: e, cwd: repoRoot, timeoutMs: 90_000 });
  try {
    const gaveUp = run.exited.then((r) => `exited (${String(r.code ?? r.signal)}) first: ${r.stderr.trim()}`);
    const line = await waitForLine(marker, 30_000, gaveUp);
    const space = line.indexOf(' ');
    const ms = Number(BigInt(line.slice(0, space)) / 1000n) / 1000 - (epoch + run.startedAt);
    if (complete) {
      const callback = await signIn.signIn(line.slice(space + 1), JANE);
      const page = await fetch(callback, { signal: AbortSignal.timeout(30_000) });
      await page.text();
      const r = await run.exited;
      if (page.status !== 200 || r.code !== 0) throw new Error(`sign-in ended with callback ${page.status}, exit ${String(r.code)}: ${r.stderr.trim()}`);
    }
    return ms;
  } finally {
    run.child.kill('SIGKILL');
    await run.exited.catch(() => undefined);
  }
}

const marker = join(dir, 'browser');
const ourLoginArgs = (kubeconfig: string, extra: readonly string[]): string[] => [
  cli, 'login', CLUSTER, ...extra, '--kubeconfig', kubeconfig, '--browser-command', `${ourStub} ${marker}`, '--timeout', '60',
];
const kubeloginWarmCache = join(dir, 'kubelogin-cache');
const kubeloginColdCache = join(dir, 'kubelogin-cold');
mkdirSync(kubeloginColdCache, { recursive: true });
const kubeloginBase = kubeloginGetTokenArgs(provider);
const kubeloginLoginArgs = async (cacheDir: string, port?: number): Promise<string[]> => [
  ...kubeloginBase,
  ...kubeloginBrowserArgs({ port: port ?? (await freeLoopbackPort()), cacheDir, browserCommand: kubeloginStub }),
];
const kubeloginEnv = (e: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...execEnv(e), KUBERNETES_EXEC_INFO: execInfo(true), K8S_AUTH_BENCH_MARKER: marker });

let exitCode = 0;
try {
  process.stderr.write(`bench/kubelogin: kubelogin ${KUBELOGIN_VERSION} beside k8s-auth, ${RUNS} rounds (+${WARMUP} warm-up), provider ${provider.issuer}\n`);
  // --- set-up: both sign in for real once
  const kubeconfig = join(dir, 'kubeconfig-exec');
  await startToBrowser(process.execPath, ourLoginArgs(kubeconfig, ['--exec', '--catalog', catalog]), env, marker, true);
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { exec?: { command: string; args: string[] } } }[] };
  const exec = doc.users.find((u) => u.user.exec)?.user.exec;
  if (!exec || exec.command !== 'k8s-auth') throw new Error(`login --exec wrote no k8s-auth exec user into ${kubeconfig}`);
  const ourHotArgs = [cli, ...exec.args];
  const ourToken = tokenOf((await timedExit(process.execPath, ourHotArgs, execEnv(env))).stdout, 'k8s-auth credential');
  // the hot path runs exactly the args of the sign-in, as a kubeconfig user holds them: kubelogin's
  // cache key includes the redirect URL (so the port), the CA file and the extra scopes
  const kubeloginHotArgs = await kubeloginLoginArgs(kubeloginWarmCache, await freeLoopbackPort());
  await startToBrowser(kubeloginBinary, kubeloginHotArgs, kubeloginEnv(env), marker, true);
  const kubeloginToken = tokenOf((await timedExit(kubeloginBinary, kubeloginHotArgs, execEnv(env))).stdout, 'kubelogin get-token');
  const sub = (t: string): unknown => (JSON.parse(Buffer.from(t.split('.')[1] ?? '', 'base64url').toString()) as { sub?: unknown }).sub;
  if (sub(ourToken) !== sub(kubeloginToken)) throw new Error('k8s-auth and kubelogin cached tokens of different subjects');

  const cols = {
    node: [] as number[],
    ourHot: [] as number[],
    kubeloginHot: [] as number[],
    nodeNoExtraCa: [] as number[],
    ourHotNoExtraCa: [] as number[],
    ourLoginFile: [] as number[],
    ourLoginVault: [] as number[],
    kubeloginLogin: [] as number[],
  };
  const vaultEnv = { ...env, ...vault.env };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const keep = i >= WARMUP;
    const push = (col: number[], ms: number): void => {
      if (keep) col.push(ms);
    };
    push(cols.node, (await timedExit(process.execPath, ['-e', '0'], env)).ms);
    const ours = await timedExit(process.execPath, ourHotArgs, execEnv(env));
    if (tokenOf(ours.stdout, 'k8s-auth credential') !== ourToken) throw new Error('our hot path printed another token');
    push(cols.ourHot, ours.ms);
    const theirs = await timedExit(kubeloginBinary, kubeloginHotArgs, execEnv(env));
    if (tokenOf(theirs.stdout, 'kubelogin get-token') !== kubeloginToken) throw new Error('kubelogin printed another token (its cache was missed)');
    push(cols.kubeloginHot, theirs.ms);
    if (extraCa) {
      push(cols.nodeNoExtraCa, (await timedExit(process.execPath, ['-e', '0'], envNoExtraCa)).ms);
      push(cols.ourHotNoExtraCa, (await timedExit(process.execPath, ourHotArgs, execEnv(envNoExtraCa))).ms);
    }
    push(cols.ourLoginFile, await startToBrowser(process.execPath, ourLoginArgs(join(dir, `kc-file-${i}`), ['--catalog', catalog]), env, marker));
    push(cols.kubeloginLogin, await startToBrowser(kubeloginBinary, await kubeloginLoginArgs(kubeloginColdCache), kubeloginEnv(env), marker));
    push(cols.ourLoginVault, await startToBrowser(process.execPath, ourLoginArgs(join(dir, `kc-vault-${i}`), []), vaultEnv, marker));
  }
  const s = Object.fromEntries(Object.entries(cols).filter(([, v]) => v.length > 0).map(([k, v]) => [k, summarize(v)])) as Partial<Record<keyof typeof cols, Summary>>;
  const need = (k: keyof typeof cols): Summary => s[k] ?? fail(`no samples for ${k}`);
  const node = need('node').median;
  const ratio = (k: keyof typeof cols, base = node): number => Math.round((need(k).median / base) * 100) / 100;
  const result = {
    bench: 'kubelogin',
    kubelogin: KUBELOGIN_VERSION,
    runs: RUNS,
    nodeExtraCaCerts: extraCa,
    nodeMedianMs: node,
    hotPath: {
      oursMs: need('ourHot').median,
      kubeloginMs: need('kubeloginHot').median,
      oursRatio: ratio('ourHot'),
      kubeloginRatio: ratio('kubeloginHot'),
      ...(extraCa
        ? { nodeNoExtraCaMs: need('nodeNoExtraCa').median, oursNoExtraCaMs: need('ourHotNoExtraCa').median, oursNoExtraCaRatio: ratio('ourHotNoExtraCa', need('nodeNoExtraCa').median) }
        : {}),
    },
    startToBrowser: {
      oursFileMs: need('ourLoginFile').median,
      oursVaultMs: need('ourLoginVault').median,
      kubeloginMs: need('kubeloginLogin').median,
      oursFileRatio: ratio('ourLoginFile'),
      oursVaultRatio: ratio('ourLoginVault'),
      kubeloginRatio: ratio('kubeloginLogin'),
    },
    targets: TARGETS,
    pass: {
      hotPath: (extraCa ? ratio('ourHotNoExtraCa', need('nodeNoExtraCa').median) : ratio('ourHot')) <= TARGETS.hotPathRatio,
      loginStartRatio: ratio('ourLoginVault') <= TARGETS.loginStartRatio,
      loginNotSlowerThanKubelogin: need('ourLoginVault').median <= need('kubeloginLogin').median,
    },
  };
  const row = (name: string, k: keyof typeof cols, base = node): string => {
    const v = s[k];
    return v ? `  ${name.padEnd(40)} median ${String(v.median).padStart(6)} ms  p90 ${String(v.p90).padStart(6)}  min ${String(v.min).padStart(6)}  ${String(round1(v.median / base)).padStart(4)}× node\n` : '';
  };
  const noCa = s.nodeNoExtraCa?.median ?? node;
  process.stderr.write(
    row('node -e 0', 'node') +
      row('hot path: k8s-auth credential', 'ourHot') +
      row(`hot path: kubelogin get-token`, 'kubeloginHot') +
      row('node -e 0 (no NODE_EXTRA_CA_CERTS)', 'nodeNoExtraCa', noCa) +
      row('hot path: k8s-auth (no extra CA)', 'ourHotNoExtraCa', noCa) +
      row('start→browser: k8s-auth, file catalog', 'ourLoginFile') +
      row('start→browser: k8s-auth, Vault', 'ourLoginVault') +
      row('start→browser: kubelogin', 'kubeloginLogin'),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stderr.write(`bench/kubelogin: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await signIn.close();
  await vault.close();
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
