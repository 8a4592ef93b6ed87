// Faults survived: the identity provider, Vault and the API server down (nothing listening),
// slow past every timeout (accept and never answer), dropping the connection in the middle of
// an answer, resetting it, or never finishing the TLS handshake. The built CLI runs with
// --http-timeout 1 so the cases stay fast; each asserts the documented exit code, one clear
// stderr line, a bounded run time, how many requests the peer saw (retries only where safe:
// idempotent reads and TokenRequest, never a code redemption or an RBAC write), and that no file
// changed.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { BASE_SCOPES } from '../../src/core/cluster-entry.js';
import { serializeCachedTokens } from '../../src/core/token-cache-entry.js';
import { cacheFilePath } from '../../src/core/token-cache-key.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closedPort, startBlackHole, startFaultServer, type FaultMode, type FaultServer } from '../support/fault-server.js';
import { startIdTokenFront, type IdTokenFront } from '../support/id-token-front.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { diffTrees, expectOneLineError, snapshotTree, spawnCli, waitForCaptured, writeUrlCaptureCommand } from '../support/reliability-harness.js';

let provider: TestProvider;
let front: IdTokenFront;
let api: KubeApiDouble;
let idp: FaultServer;
let vaultFault: FaultServer;
let kube: FaultServer;
let hole: Awaited<ReturnType<typeof startBlackHole>>;
let deadPort: number;
let dir: TempDir;
const f = (name: string): string => dir.file(name);

function catalogFor(issuer: string, caPem?: string): string {
  return [
    'clusters:',
    '  prod:',
    '    server: https://127.0.0.1:6443',
    `    issuer-url: ${issuer}`,
    '    client-id: k8s-auth',
    ...(caPem ? [`    idp-certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`] : []),
    '',
  ].join('\n');
}

function kubeconfigFor(server: string, caPem: string | undefined, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'current-context: faulty',
    'clusters:',
    '- name: faulty',
    '  cluster:',
    `    server: ${server}`,
    ...(caPem ? [`    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`] : []),
    'users:',
    '- name: admin',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: faulty',
    '  context:',
    '    cluster: faulty',
    '    user: admin',
    '',
  ].join('\n');
}

beforeAll(async () => {
  [provider, api, idp, vaultFault, kube, hole, deadPort] = await Promise.all([
    startTestProvider(),
    startKubeApiDouble(),
    startFaultServer({ tls: true }),
    startFaultServer(),
    startFaultServer({ tls: true }),
    startBlackHole(),
    closedPort(),
  ]);
  front = await startIdTokenFront(provider);
  dir = tempDir('k8s-auth-rel-faults-');
  writeFileSync(f('kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n', { mode: 0o600 });
  writeFileSync(f('cat-down.yaml'), catalogFor(`https://127.0.0.1:${deadPort}/dex`));
  writeFileSync(f('cat-fault.yaml'), catalogFor(`${idp.url}/dex`, idp.ca?.certPem));
  writeFileSync(f('cat-hole.yaml'), catalogFor(`${hole.url}/dex`));
  writeFileSync(f('cat-front.yaml'), catalogFor(front.issuer, front.caPem));
  writeFileSync(f('kc-down'), kubeconfigFor(`https://127.0.0.1:${deadPort}`, undefined, 'static-token-for-a-dead-server'), { mode: 0o600 });
  writeFileSync(f('kc-fault'), kubeconfigFor(kube.url, kube.ca?.certPem, 'static-token-for-a-faulty-server'), { mode: 0o600 });
  writeFileSync(f('kc-hole'), kubeconfigFor(hole.url, undefined, 'static-token-for-a-black-hole'), { mode: 0o600 });
  writeFileSync(f('kc-api'), kubeconfigFor(api.url, api.ca.certPem, api.adminToken), { mode: 0o600 });
  writeFileSync(f('cat-vault-entry.json'), '{}');
});

afterAll(async () => {
  await Promise.all([front?.close(), provider?.close(), api?.close(), idp?.close(), vaultFault?.close(), kube?.close(), hole?.close()]);
  dir?.remove();
});

beforeEach(() => {
  for (const s of [idp, vaultFault, kube]) {
    s.mode = 'answer';
    s.resetHits();
  }
  api.clearFaults();
  api.resetRecords();
  front.tokenTransport = 'answer';
  front.tokenRequests.length = 0;
});

interface FaultCase {
  name: string;
  before?: () => void;
  args: () => string[];
  env?: () => Record<string, string | undefined>;
  code: number;
  message: RegExp;
  /** the run must end within this many ms */
  withinMs: number;
  /** requests the faulty peer saw */
  requests?: () => number;
  expectRequests?: number | [number, number];
}

async function runFault(c: FaultCase): Promise<void> {
  c.before?.();
  const before = snapshotTree(dir.path);
  const run = await spawnCli(c.args(), cleanEnv({ HOME: f('home'), ...c.env?.() }), 60_000).exited;
  expect(run.code, run.stderr).toBe(c.code);
  expectOneLineError(run.stderr, { message: c.message });
  expect(run.ms).toBeLessThan(c.withinMs);
  process.stderr.write(`reliability-faults: ${c.name}: exit ${run.code} in ${Math.round(run.ms)} ms${c.requests ? `, ${c.requests()} request(s) seen` : ''}\n`);
  if (c.requests && c.expectRequests !== undefined) {
    const seen = c.requests();
    if (Array.isArray(c.expectRequests)) {
      expect(seen).toBeGreaterThanOrEqual(c.expectRequests[0]);
      expect(seen).toBeLessThanOrEqual(c.expectRequests[1]);
    } else expect(seen).toBe(c.expectRequests);
  }
  expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
}

const mode = (server: () => FaultServer, m: FaultMode) => () => void (server().mode = m);
const login = (catalog: string) => () => ['login', 'prod', '--catalog', f(catalog), '--kubeconfig', f('kubeconfig'), '--no-browser', '--timeout', '10', '--http-timeout', '1'];

describe('identity provider faults (login)', () => {
  const discovery = () => idp.count('/dex/.well-known/openid-configuration');
  const cases: FaultCase[] = [
    { name: 'down', args: login('cat-down.yaml'), code: 5, message: /identity provider at .* refused the connection/, withinMs: 5_000 },
    { name: 'slow past --http-timeout', before: mode(() => idp, 'hang'), args: login('cat-fault.yaml'), code: 5, message: /identity provider at .* did not answer within 1s/, withinMs: 6_000, requests: discovery, expectRequests: 1 },
    { name: 'drops the connection mid-answer', before: mode(() => idp, 'drop-mid-response'), args: login('cat-fault.yaml'), code: 5, message: /identity provider at .* dropped the connection/, withinMs: 6_000, requests: discovery, expectRequests: 1 },
    { name: 'resets the connection', before: mode(() => idp, 'reset'), args: login('cat-fault.yaml'), code: 5, message: /identity provider at .* dropped the connection/, withinMs: 6_000, requests: discovery, expectRequests: 1 },
    { name: 'never finishes the TLS handshake', args: login('cat-hole.yaml'), code: 5, message: /identity provider at .* did not answer within 1s/, withinMs: 6_000 },
  ];
  for (const c of cases) it(`${c.name}: exit ${c.code}, one line, bounded, no file changed`, () => runFault(c));

  /** The sign-in reaches the token endpoint (through the front), which then misbehaves. */
  async function redeemWith(setup: () => void): Promise<{ code: number | null; stderr: string; ms: number }> {
    const capture = f(`opened-${Math.random().toString(36).slice(2)}.jsonl`);
    const browser = writeUrlCaptureCommand(dir.path);
    const cli = spawnCli(
      ['login', 'prod', '--catalog', f('cat-front.yaml'), '--kubeconfig', f('kubeconfig'), '--browser-command', browser.command, '-q', '--timeout', '20', '--http-timeout', '1'],
      cleanEnv({ HOME: f('home'), CAPTURE_FILE: capture }),
      40_000,
    );
    const opened = new URL((await waitForCaptured(capture)).url);
    setup();
    const redirect = new URL(String(opened.searchParams.get('redirect_uri')));
    redirect.searchParams.set('code', 'one-time-code');
    redirect.searchParams.set('state', String(opened.searchParams.get('state')));
    await fetch(redirect).catch(() => undefined);
    return cli.exited;
  }

  it('token endpoint slow past --http-timeout: exit 5, the code is redeemed once (never retried)', async () => {
    const before = snapshotTree(dir.path);
    const run = await redeemWith(() => {
      front.answer = async () => {
        await new Promise((r) => setTimeout(r, 4_000));
        return { status: 500, body: { error: 'too_late' } };
      };
    });
    expect(run.code, run.stderr).toBe(5);
    expectOneLineError(run.stderr, { message: /did not answer within 1s/ });
    expect(front.tokenRequests).toHaveLength(1);
    expect(run.ms).toBeLessThan(10_000);
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !/opened-|capture-url/.test(l))).toEqual([]);
  });

  it('token endpoint drops the connection mid-answer: exit 5, the code is redeemed once', async () => {
    const before = snapshotTree(dir.path);
    const run = await redeemWith(() => {
      front.tokenTransport = 'drop-mid-response';
    });
    expect(run.code, run.stderr).toBe(5);
    expectOneLineError(run.stderr, { message: /identity provider/ });
    expect(front.tokenRequests).toHaveLength(1);
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !/opened-|capture-url/.test(l))).toEqual([]);
  });
});

describe('Vault faults (catalog in Vault)', () => {
  const vaultLogin = () => ['login', 'prod', '--kubeconfig', f('kubeconfig'), '--no-browser', '--timeout', '10', '--http-timeout', '1'];
  const env = (address: () => string) => () => ({ VAULT_ADDR: address(), VAULT_TOKEN: 'hvs.fault-test-token' });
  const reads = () => vaultFault.count('/v1/');
  const cases: FaultCase[] = [
    { name: 'down', args: vaultLogin, env: env(() => `http://127.0.0.1:${deadPort}`), code: 4, message: /Vault at .* refused the connection/, withinMs: 5_000 },
    { name: 'slow past --http-timeout', before: mode(() => vaultFault, 'hang'), args: vaultLogin, env: env(() => vaultFault.url), code: 4, message: /Vault at .* did not answer within/, withinMs: 6_000, requests: reads, expectRequests: 1 },
    { name: 'drops the connection mid-answer', before: mode(() => vaultFault, 'drop-mid-response'), args: vaultLogin, env: env(() => vaultFault.url), code: 4, message: /Vault/, withinMs: 6_000, requests: reads, expectRequests: 1 },
    { name: 'resets the connection', before: mode(() => vaultFault, 'reset'), args: vaultLogin, env: env(() => vaultFault.url), code: 4, message: /Vault at .* dropped the connection/, withinMs: 6_000, requests: reads, expectRequests: 1 },
    { name: 'never answers at the TCP level', args: vaultLogin, env: env(() => `http://127.0.0.1:${hole.port}`), code: 4, message: /Vault at .* did not answer within/, withinMs: 6_000 },
  ];
  for (const c of cases) it(`${c.name}: exit ${c.code}, one line, bounded, no file changed`, () => runFault(c));
});

describe('API server faults', () => {
  const token = (kc: string) => () => ['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'json', '--kubeconfig', f(kc), '--http-timeout', '1'];
  const rbacList = (kc: string) => () => ['rbac', 'list', '--kubeconfig', f(kc), '--http-timeout', '1'];
  const tokenRequests = () => kube.count('/api/v1/namespaces/default/serviceaccounts/ci/token', 'POST');
  /** the most attempts any one read got (rbac list reads several resources, each retried on its own) */
  const maxPerPath = (hits: { method: string; path: string }[]): number => {
    const per = new Map<string, number>();
    for (const h of hits) if (h.method === 'GET') per.set(h.path, (per.get(h.path) ?? 0) + 1);
    return Math.max(0, ...per.values());
  };
  const reads = () => maxPerPath(kube.hits);
  const cases: FaultCase[] = [
    { name: 'token: down', args: token('kc-down'), code: 9, message: /Kubernetes API server at .* refused the connection/, withinMs: 5_000 },
    { name: 'token: slow past --http-timeout (a timeout is not retried)', before: mode(() => kube, 'hang'), args: token('kc-fault'), code: 9, message: /did not answer within 1s/, withinMs: 6_000, requests: tokenRequests, expectRequests: 1 },
    { name: 'token: drops the connection mid-answer (retried: minting stores nothing)', before: mode(() => kube, 'drop-mid-response'), args: token('kc-fault'), code: 9, message: /Kubernetes API server/, withinMs: 10_000, requests: tokenRequests, expectRequests: [2, 4] },
    { name: 'token: resets the connection', before: mode(() => kube, 'reset'), args: token('kc-fault'), code: 9, message: /Kubernetes API server/, withinMs: 10_000, requests: tokenRequests, expectRequests: [2, 4] },
    { name: 'token: never finishes the TLS handshake', args: token('kc-hole'), code: 9, message: /did not answer within 1s|Kubernetes API server/, withinMs: 6_000 },
    { name: 'rbac list: down', args: rbacList('kc-down'), code: 9, message: /refused the connection/, withinMs: 15_000 },
    { name: 'rbac list: slow past --http-timeout (reads retried, bounded)', before: mode(() => kube, 'hang'), args: rbacList('kc-fault'), code: 9, message: /did not answer within 1s/, withinMs: 15_000, requests: reads, expectRequests: [2, 4] },
    { name: 'rbac list: drops the connection mid-answer (reads retried, bounded)', before: mode(() => kube, 'drop-mid-response'), args: rbacList('kc-fault'), code: 9, message: /Kubernetes API server|API server/, withinMs: 15_000, requests: reads, expectRequests: [2, 4] },
    {
      name: 'rbac list: 503 on every read (retried with backoff, bounded)',
      before: () => api.addFault({ verb: 'list', kind: 'error', status: 503 }),
      args: rbacList('kc-api'),
      code: 9,
      message: /503/,
      withinMs: 15_000,
      requests: () => maxPerPath(api.requests.filter((r) => r.verb === 'list')),
      expectRequests: 4,
    },
  ];
  for (const c of cases) it(`${c.name}: exit ${c.code}, one line, bounded, no file changed`, () => runFault(c));
});

describe('exec credential refresh against a faulty provider', () => {
  const cacheDir = () => f('cache');
  const key = (issuer: string) => ({ issuer, clientId: 'k8s-auth', scopes: [...BASE_SCOPES] });
  /** an expired ID token with a refresh token, as `login --exec` leaves it after a day */
  async function expiredCache(issuer: string): Promise<string> {
    const idToken = await provider.mintIdToken({ issuer, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    const file = cacheFilePath(cacheDir(), key(issuer));
    mkdirSync(cacheDir(), { recursive: true, mode: 0o700 });
    writeFileSync(
      file,
      serializeCachedTokens({ key: key(issuer), idToken, refreshToken: 'rt-cached-refresh-token-value', expiresAt: new Date(Date.now() - 3_600_000).toISOString(), updatedAt: new Date().toISOString() }),
      { mode: 0o600 },
    );
    return file;
  }
  const credential = (catalog: string, ...extra: string[]) => ['credential', 'prod', '--catalog', f(catalog), '--token-cache-dir', cacheDir(), '--no-interactive', ...extra];
  const execEnv = { KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } }) };

  it('provider down during a refresh: exit 5 (not a sign-in), cache unchanged, lock released', async () => {
    await expiredCache(`https://127.0.0.1:${deadPort}/dex`);
    const before = snapshotTree(dir.path);
    const run = await spawnCli(credential('cat-down.yaml', '--http-timeout', '1'), cleanEnv({ HOME: f('home'), ...execEnv })).exited;
    expect(run.code, run.stderr).toBe(5);
    expectOneLineError(run.stderr, { message: /identity provider at .* refused the connection/ });
    expect(run.stdout).toBe('');
    expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
  });

  it('provider hangs during a refresh while holding the cache lock: a second caller waiting on the lock gives up with exit 11; Ctrl-C releases the lock', async () => {
    await expiredCache(`${idp.url}/dex`);
    idp.mode = 'hang';
    const before = snapshotTree(dir.path);
    const lock = `${cacheFilePath(cacheDir(), key(`${idp.url}/dex`))}.lock`;
    // the first caller takes the cache lock and hangs in discovery (--http-timeout 20)
    const first = spawnCli(credential('cat-fault.yaml', '--http-timeout', '20'), cleanEnv({ HOME: f('home'), ...execEnv }), 40_000);
    const deadline = Date.now() + 10_000;
    while (!existsSync(lock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(lock)).toBe(true);
    // a second caller waits at most --lock-timeout, then says who holds the lock (quiet: without
    // it a progress line "waiting for another k8s-auth…" comes first)
    const second = await spawnCli(credential('cat-fault.yaml', '--http-timeout', '1', '--lock-timeout', '1'), cleanEnv({ HOME: f('home'), K8S_AUTH_QUIET: '1', ...execEnv })).exited;
    expect(second.code, second.stderr).toBe(11);
    expectOneLineError(second.stderr, { message: new RegExp(`locked by process ${first.pid} on .* for more than 1s`) });
    expect(second.ms).toBeLessThan(8_000);
    // Ctrl-C on the hung holder: exit 130, lock removed, cache unchanged
    first.signal('SIGINT');
    const firstRun = await first.exited;
    expect(firstRun.code).toBe(130);
    expect(existsSync(lock)).toBe(false);
    expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
  });
});
