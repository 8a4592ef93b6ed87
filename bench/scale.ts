// Benchmark: does a big fleet make us slower? The exec hot path and `login --exec` with ONE of
// everything versus a kubeconfig of 1,000 contexts, a token cache of 1,000 entries and a catalog
// file of 1,000 clusters (target: under 10% more, issue 16). Run after `npm run build`:
//
//   npx tsx bench/scale.ts [--runs N] [--size N] [--cpu-prof-dir DIR]   (defaults 15 rounds + 2
//   warm-up, size 1000; DIR/one and DIR/many get a CPU profile of each login)
//
// Peers: the Dex-shaped test provider over HTTPS in this process; sign-ins are real and completed
// over HTTP (bench/lib/provider-sign-in.ts). Two set-ups, each made by `k8s-auth login bench
// --exec` itself:
//  - one: a catalog file with `bench` alone, an empty token cache dir, a new kubeconfig;
//  - many: a catalog file with N clusters (`bench` among them), a token cache dir with N entries
//    of other issuers (written with the product's own serializer and file names), a kubeconfig
//    with N clusters, users (exec plugins, as an SSO fleet's are) and contexts.
// Per round, interleaved: `node -e 0`; the hot path of each set-up (the exec args login wrote,
// KUBECONFIG pointing at that set-up's kubeconfig, KUBERNETES_EXEC_INFO as kubectl sets it; must
// print the cached token); then a full `login bench --exec` of each (start → browser invoked,
// and callback → exit, which includes merging into the big kubeconfig and the big cache dir),
// each on a fresh copy of its kubeconfig. Prints ONE JSON line on stdout, a table on stderr.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { parse, stringify } from 'yaml';
import { serializeCachedTokens } from '../src/core/token-cache-entry.js';
import { cacheFilePath } from '../src/core/token-cache-key.js';
import { startTestProvider } from '../test/support/oidc-provider.js';
import { cleanEnv } from '../test/support/run-cli.js';
import { repoRoot } from '../test/support/skip.js';
import { createHttpSignIn } from './lib/provider-sign-in.js';
import { round1, summarize, type Summary } from './lib/stats.js';
import { epochOffsetMs, spawnTimed, waitForLine } from './lib/timing.js';

const WARMUP = 2;
const CLUSTER = 'bench';
const JANE = { login: 'jane@example.com', password: 'jane-password' };
const TARGET_EXTRA = 0.1;

function fail(message: string): never {
  process.stderr.write(`bench/scale: ${message}\n`);
  process.exit(1);
}
function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return (i > 0 ? process.argv[i + 1] : undefined) ?? fallback;
}
const RUNS = Number(option('--runs', process.env.K8S_AUTH_BENCH_RUNS ?? '15'));
if (!Number.isInteger(RUNS) || RUNS < 3 || RUNS > 200) fail('--runs must be a whole number from 3 to 200');
const SIZE = Number(option('--size', '1000'));
if (!Number.isInteger(SIZE) || SIZE < 2 || SIZE > 20_000) fail('--size must be a whole number from 2 to 20000');
const cpuProfDir = process.argv.includes('--cpu-prof-dir') ? option('--cpu-prof-dir', '') : undefined;
if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) fail('dist/ is not built: run `npm run build` first');

const cli = join(repoRoot, 'bin', 'k8s-auth.js');
const stub = join(repoRoot, 'bench', 'browser-stub.sh');
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-scale-'));
const provider = await startTestProvider();
const signIn = createHttpSignIn(provider.caPem);
const env = cleanEnv({ HOME: dir, BROWSER: undefined, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, XDG_CONFIG_HOME: undefined });
const caData = Buffer.from(provider.caPem).toString('base64');
const benchEntry = { server: 'https://127.0.0.1:9', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': caData };
// a CA certificate's size in base64, as each cluster of a real catalog or kubeconfig carries one
const someCa = Buffer.from('-----BEGIN CERTIFICATE-----\n' + 'MIIC'.padEnd(1060, 'A') + '\n-----END CERTIFICATE-----\n').toString('base64');

interface SetUp {
  name: 'one' | 'many';
  catalog: string;
  cacheDir: string;
  /** the kubeconfig each login run starts from (copied first) */
  kubeconfigTemplate: string;
  /** written by the set-up login: what the hot path runs under */
  kubeconfig: string;
  hotArgs: string[];
}

function writeFleet(name: SetUp['name']): Omit<SetUp, 'kubeconfig' | 'hotArgs'> {
  const base = join(dir, name);
  mkdirSync(base);
  const n = name === 'one' ? 0 : SIZE;
  const others = Array.from({ length: n }, (_, i) => `cluster-${String(i).padStart(4, '0')}`);
  const clusters: Record<string, Record<string, string>> = {};
  others.slice(0, n >> 1).forEach((c, i) => (clusters[c] = { server: `https://10.1.${i >> 8}.${i & 255}:6443`, 'certificate-authority-data': someCa, 'issuer-url': `https://idp-${i % 7}.example.com/dex`, 'client-id': 'kubernetes' }));
  clusters[CLUSTER] = benchEntry;
  others.slice(n >> 1).forEach((c, i) => (clusters[c] = { server: `https://10.2.${i >> 8}.${i & 255}:6443`, 'certificate-authority-data': someCa, 'issuer-url': `https://idp-${i % 7}.example.com/dex`, 'client-id': 'kubernetes' }));
  const catalog = join(base, 'clusters.yaml');
  writeFileSync(catalog, stringify({ clusters }));

  const cacheDir = join(base, 'cache');
  mkdirSync(cacheDir, { mode: 0o700 });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (let i = 0; i < n; i++) {
    const key = { issuer: `https://idp-${i}.example.com/dex`, clientId: 'kubernetes', scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'], loginHint: `user${i}@example.com` };
    const idToken = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: key.issuer, aud: key.clientId, sub: `u${i}`, email: key.loginHint, exp })}.${'A'.repeat(342)}`;
    writeFileSync(cacheFilePath(cacheDir, key), serializeCachedTokens({ key, idToken, refreshToken: `r-${i}`, expiresAt: new Date(exp * 1000).toISOString(), updatedAt: new Date().toISOString() }), { mode: 0o600 });
  }

  const kubeconfigTemplate = join(base, 'kubeconfig-template');
  writeFileSync(
    kubeconfigTemplate,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: others.map((c, i) => ({ name: c, cluster: { server: `https://10.3.${i >> 8}.${i & 255}:6443`, 'certificate-authority-data': someCa } })),
      users: others.map((c, i) => ({
        name: `user${i}@example.com@${c}`,
        user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'k8s-auth', args: ['credential', c, '--issuer', `https://idp-${i % 7}.example.com/dex`, '--client-id', 'kubernetes', '--login-hint', `user${i}@example.com`], interactiveMode: 'IfAvailable' } },
      })),
      contexts: others.map((c, i) => ({ name: c, context: { cluster: c, user: `user${i}@example.com@${c}`, namespace: 'default' } })),
      'current-context': others[0] ?? '',
      preferences: {},
    }),
    { mode: 0o600 },
  );
  return { name, catalog, cacheDir, kubeconfigTemplate };
}

const execEnv = (kubeconfig: string): NodeJS.ProcessEnv => ({
  ...env,
  KUBECONFIG: kubeconfig,
  KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } }),
});

function isJanesToken(token: string | undefined): boolean {
  if (token === undefined) return false;
  const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString() || '{}') as { iss?: string; email?: string; exp?: number };
  return claims.iss === provider.issuer && claims.email === JANE.login && (claims.exp ?? 0) * 1000 > Date.now();
}

async function hotPath(s: SetUp): Promise<number> {
  const run = spawnTimed(process.execPath, s.hotArgs, { env: execEnv(s.kubeconfig), cwd: repoRoot, timeoutMs: 30_000 });
  const r = await run.exited;
  if (r.code !== 0) throw new Error(`hot path (${s.name}) exited ${String(r.code ?? r.signal)}: ${r.stderr.trim()}`);
  // each round's login replaces the cached token: check whose it is, not which
  if (!isJanesToken((JSON.parse(r.stdout) as { status?: { token?: string } }).status?.token)) throw new Error(`hot path (${s.name}) printed no token of jane's from ${provider.issuer}`);
  return r.exitedAt - run.startedAt;
}

/** A full `login bench --exec` on a fresh copy of the set-up's kubeconfig. */
async function login(s: Pick<SetUp, 'name' | 'catalog' | 'cacheDir' | 'kubeconfigTemplate'>, kubeconfig: string): Promise<{ startToBrowserMs: number; callbackToExitMs: number }> {
  copyFileSync(s.kubeconfigTemplate, kubeconfig);
  const marker = join(dir, `browser-${s.name}`);
  rmSync(marker, { force: true });
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, s.name)] : [];
  const args = [...prof, cli, 'login', CLUSTER, '--exec', '--catalog', s.catalog, '--token-cache-dir', s.cacheDir, '--kubeconfig', kubeconfig, '--browser-command', `${stub} ${marker}`, '--timeout', '60'];
  const epoch = epochOffsetMs();
  const run = spawnTimed(process.execPath, args, { env, cwd: repoRoot, timeoutMs: 90_000 });
  try {
    const line = await waitForLine(marker, 30_000, run.exited.then((r) => `login (${s.name}) exited ${String(r.code ?? r.signal)} first: ${r.stderr.trim()}`));
    const space = line.indexOf(' ');
    const startToBrowserMs = Number(BigInt(line.slice(0, space)) / 1000n) / 1000 - (epoch + run.startedAt);
    const callback = await signIn.signIn(line.slice(space + 1), JANE);
    const t0 = performance.now();
    const page = await fetch(callback, { signal: AbortSignal.timeout(30_000) });
    await page.text();
    const r = await run.exited;
    if (page.status !== 200 || r.code !== 0) throw new Error(`login (${s.name}): callback ${page.status}, exit ${String(r.code ?? r.signal)}: ${r.stderr.trim()}`);
    return { startToBrowserMs, callbackToExitMs: r.exitedAt - t0 };
  } finally {
    run.child.kill('SIGKILL');
  }
}

async function setUp(name: SetUp['name']): Promise<SetUp> {
  const fleet = writeFleet(name);
  const kubeconfig = join(dir, name, 'kubeconfig');
  await login(fleet, kubeconfig);
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { exec?: { args: string[] } } }[] };
  const exec = doc.users.find((u) => u.name.endsWith(`@${CLUSTER}`))?.user.exec;
  if (!exec) throw new Error(`login wrote no exec user for ${CLUSTER} (${name})`);
  const ready: SetUp = { ...fleet, kubeconfig, hotArgs: [cli, ...exec.args] };
  await hotPath(ready);
  return ready;
}

let exitCode = 0;
try {
  process.stderr.write(`bench/scale: one vs ${SIZE} contexts / cache entries / catalog clusters, ${RUNS} rounds (+${WARMUP} warm-up)\n`);
  const one = await setUp('one');
  const many = await setUp('many');
  const bytes = (p: string): number => readFileSync(p).length;
  const cols = { node: [] as number[], hotOne: [] as number[], hotMany: [] as number[], startOne: [] as number[], startMany: [] as number[], callbackOne: [] as number[], callbackMany: [] as number[] };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const keep = i >= WARMUP;
    const push = (col: number[], ms: number): void => {
      if (keep) col.push(ms);
    };
    const node = spawnTimed(process.execPath, ['-e', '0'], { env, cwd: repoRoot, timeoutMs: 30_000 });
    const nr = await node.exited;
    push(cols.node, nr.exitedAt - node.startedAt);
    // alternate which set-up goes first
    const order = i % 2 === 0 ? [one, many] : [many, one];
    for (const s of order) push(s.name === 'one' ? cols.hotOne : cols.hotMany, await hotPath(s));
    for (const s of order) {
      const r = await login(s, join(dir, s.name, `kubeconfig-${i}`));
      push(s.name === 'one' ? cols.startOne : cols.startMany, r.startToBrowserMs);
      push(s.name === 'one' ? cols.callbackOne : cols.callbackMany, r.callbackToExitMs);
      rmSync(join(dir, s.name, `kubeconfig-${i}`), { force: true });
    }
  }
  const s = Object.fromEntries(Object.entries(cols).map(([k, v]) => [k, summarize(v)])) as Record<keyof typeof cols, Summary>;
  const extra = (a: Summary, b: Summary): number => Math.round((b.median / a.median - 1) * 1000) / 1000;
  const result = {
    bench: 'scale',
    runs: RUNS,
    size: SIZE,
    bytes: { kubeconfig: bytes(many.kubeconfigTemplate), catalog: bytes(many.catalog) },
    nodeMedianMs: s.node.median,
    hotPath: { oneMs: s.hotOne.median, manyMs: s.hotMany.median, extra: extra(s.hotOne, s.hotMany), oneRatio: round1(s.hotOne.median / s.node.median), manyRatio: round1(s.hotMany.median / s.node.median) },
    loginStartToBrowser: { oneMs: s.startOne.median, manyMs: s.startMany.median, extra: extra(s.startOne, s.startMany) },
    loginCallbackToExit: { oneMs: s.callbackOne.median, manyMs: s.callbackMany.median, extra: extra(s.callbackOne, s.callbackMany) },
    target: TARGET_EXTRA,
    pass: {
      hotPath: extra(s.hotOne, s.hotMany) < TARGET_EXTRA,
      loginStartToBrowser: extra(s.startOne, s.startMany) < TARGET_EXTRA,
      loginCallbackToExit: extra(s.callbackOne, s.callbackMany) < TARGET_EXTRA,
    },
  };
  const row = (name: string, a: Summary, b: Summary): string =>
    `  ${name.padEnd(22)} one ${String(a.median).padStart(7)} ms (p90 ${String(a.p90).padStart(7)})   ${SIZE} ${String(b.median).padStart(7)} ms (p90 ${String(b.p90).padStart(7)})   ${extra(a, b) >= 0 ? '+' : ''}${Math.round(extra(a, b) * 100)}%\n`;
  process.stderr.write(
    `  node -e 0 median ${s.node.median} ms; kubeconfig ${result.bytes.kubeconfig} bytes, catalog ${result.bytes.catalog} bytes\n` +
      row('hot path', s.hotOne, s.hotMany) +
      row('login start→browser', s.startOne, s.startMany) +
      row('login callback→exit', s.callbackOne, s.callbackMany),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stderr.write(`bench/scale: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  await signIn.close();
  await provider.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
