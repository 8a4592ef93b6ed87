// The bad-input catalogue, part 2: what the peers send or hold. Vault (real OpenBao 2.7.2:
// sealed with `bao operator seal`, token unknown, a policy that denies, entry missing,
// unreachable, KV v1, malformed entries), provider discovery (404, invalid JSON,
// issuer mismatch, untrusted TLS), raw ID tokens handed to `rbac apply --id-token` (the RBAC
// verifier), mapping files and identities that make no ServiceAccount name, and API server
// refusals (403/404/409/422/429/500) for `token` and `rbac apply`. Every case runs the built
// CLI and asserts the exit code, the one-line message, and that no file under the test
// directory changed; the verifier cases also assert the API server saw no request at all.
import { copyFileSync, writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { algNone, startIdTokenFront, tamperSignature, type IdTokenFront } from '../support/id-token-front.js';
import { startKubeApiDouble, type Fault, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { diffTrees, expectOneLineError, snapshotTree, spawnCli, type OneLineExpectation } from '../support/reliability-harness.js';
import { closedPort } from '../support/fault-server.js';
import { skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

let provider: TestProvider;
let front: IdTokenFront;
/** undefined when OpenBao is not installed (the Vault cases then skip) */
let bao: OpenBao | undefined;
let listOnlyToken = '';
const skipVault = skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'reliability-peer-inputs: Vault as the catalog');
let api: KubeApiDouble;
let dir: TempDir;
let deadPort: number;

const files = {
  catalog: '',
  untrustedCatalog: '',
  frontCatalog: '',
  kubeconfig: '',
  adminKubeconfig: '',
  idpCa: '',
  frontCa: '',
  mapping: '',
};

const entry = (issuer: string, caPem?: string) => ({
  server: 'https://127.0.0.1:6443',
  'issuer-url': issuer,
  'client-id': 'k8s-auth',
  ...(caPem ? { 'idp-certificate-authority-data': Buffer.from(caPem).toString('base64') } : {}),
});

function yamlCatalog(clusters: Record<string, Record<string, string>>): string {
  const lines = ['clusters:'];
  for (const [name, fields] of Object.entries(clusters)) {
    lines.push(`  ${name}:`);
    for (const [k, v] of Object.entries(fields)) lines.push(`    ${k}: ${JSON.stringify(v)}`);
  }
  return `${lines.join('\n')}\n`;
}

beforeAll(async () => {
  [provider, bao, api, deadPort] = await Promise.all([startTestProvider(), skipVault ? undefined : startOpenBao(), startKubeApiDouble(), closedPort()]);
  front = await startIdTokenFront(provider);
  dir = tempDir('k8s-auth-rel-peers-');
  files.catalog = dir.file('clusters.yaml');
  writeFileSync(files.catalog, yamlCatalog({ prod: entry(provider.issuer, provider.caPem) }));
  files.untrustedCatalog = dir.file('untrusted.yaml');
  writeFileSync(files.untrustedCatalog, yamlCatalog({ prod: entry(provider.issuer) }));
  files.frontCatalog = dir.file('front.yaml');
  writeFileSync(files.frontCatalog, yamlCatalog({ prod: entry(front.issuer, front.caPem) }));
  files.kubeconfig = dir.file('kubeconfig');
  writeFileSync(files.kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n', { mode: 0o600 });
  files.adminKubeconfig = dir.file('admin-kubeconfig');
  copyFileSync(api.kubeconfigPath, files.adminKubeconfig);
  files.idpCa = dir.file('idp-ca.pem');
  writeFileSync(files.idpCa, provider.caPem);
  files.frontCa = dir.file('front-ca.pem');
  writeFileSync(files.frontCa, front.caPem);
  files.mapping = dir.file('mapping.yaml');
  writeFileSync(files.mapping, 'serviceAccountNamespace: default\ngroups:\n  developers:\n    clusterRole: view\n');
  if (bao) {
    await bao.kvPut('k8s-auth/clusters/prod', entry(provider.issuer, provider.caPem));
    await bao.kvPut('k8s-auth/clusters/typo', { ...entry(provider.issuer, provider.caPem), 'client-id': 42 });
    await bao.enableSecrets('kv1', 'kv', { options: { version: '1' } });
    expect((await bao.api('POST', 'kv1/k8s-auth/clusters/prod', entry(provider.issuer, provider.caPem))).status).toBe(204);
    await bao.writePolicy('list-only', 'path "secret/metadata/k8s-auth/clusters" { capabilities = ["list"] }');
    listOnlyToken = await bao.createToken(['list-only']);
  }
  for (const role of ['view', 'edit', 'admin', 'cluster-admin']) api.seed('clusterroles', { metadata: { name: role }, rules: [] });
  api.seed('serviceaccounts', { metadata: { name: 'ci', namespace: 'default' } });
});

afterAll(async () => {
  await Promise.all([front?.close(), provider?.close(), bao?.stop(), api?.close()]);
  dir?.remove();
});

beforeEach(async () => {
  provider.resetFaults();
  await bao?.unseal();
  api.clearFaults();
  api.resetRecords();
  front.jwks = 'real';
});

interface Case extends OneLineExpectation {
  name: string;
  args: () => string[];
  env?: () => Record<string, string | undefined>;
  code: number;
  before?: () => void | Promise<void>;
  after?: (run: { ms: number }) => void;
}

async function runCase(c: Case): Promise<void> {
  await c.before?.();
  const before = snapshotTree(dir.path);
  const run = await spawnCli(c.args(), cleanEnv({ HOME: dir.file('home'), ...c.env?.() }), 60_000).exited;
  expect(run.code, run.stderr).toBe(c.code);
  expectOneLineError(run.stderr, c);
  expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
  c.after?.(run);
}

const login = (catalog = files.catalog, ...extra: string[]) => ['login', 'prod', '--catalog', catalog, '--kubeconfig', files.kubeconfig, '--no-browser', '--timeout', '5', '--http-timeout', '3', ...extra];
const vaultLogin = (cluster = 'prod', ...extra: string[]) => ['login', cluster, '--kubeconfig', files.kubeconfig, '--no-browser', '--timeout', '5', '--http-timeout', '3', ...extra];
const vaultEnv = (extra: Record<string, string | undefined> = {}) => () => ({ VAULT_ADDR: bao?.addr, VAULT_TOKEN: bao?.token, ...extra });

describe.skipIf(skipVault)('Vault as the catalog (OpenBao)', () => {
  const cases: Case[] = [
    { name: 'sealed (503, bao operator seal)', before: () => bao?.seal(), args: () => vaultLogin(), env: vaultEnv(), code: 4, message: /sealed or unavailable \(503\)/ },
    { name: 'token unknown to the server (403)', args: () => vaultLogin(), env: vaultEnv({ VAULT_TOKEN: 'hvs.not-the-token' }), code: 4, message: /denied .*\(403 permission denied\)/ },
    { name: 'a policy that denies reading the entry (403)', args: () => vaultLogin(), env: () => vaultEnv({ VAULT_TOKEN: listOnlyToken })(), code: 4, message: /denied reading cluster 'prod' at secret\/k8s-auth\/clusters\/prod \(403 permission denied\)/ },
    { name: 'cluster missing (404)', args: () => vaultLogin('nope'), env: vaultEnv(), code: 3, message: /cluster 'nope' not found in Vault secret\/k8s-auth\/clusters\/nope/ },
    { name: 'unreachable', args: () => vaultLogin(), env: () => vaultEnv({ VAULT_ADDR: `http://127.0.0.1:${deadPort}` })(), code: 4, message: /refused the connection/ },
    { name: 'mount is KV version 1', args: () => vaultLogin('prod', '--vault-mount', 'kv1'), env: vaultEnv(), code: 3, message: /KV version 2/ },
    { name: 'entry with a wrong field type', args: () => vaultLogin('typo'), env: vaultEnv(), code: 3, message: /field 'client-id' must be a string, not number/ },
    { name: 'no token anywhere', args: () => vaultLogin(), env: vaultEnv({ VAULT_TOKEN: undefined }), code: 4, message: /no Vault token/ },
    { name: 'VAULT_SKIP_VERIFY not a boolean', args: () => vaultLogin(), env: vaultEnv({ VAULT_SKIP_VERIFY: 'maybe' }), code: 2, message: /VAULT_SKIP_VERIFY='maybe' is not a boolean/ },
    { name: 'VAULT_ADDR not a URL', args: () => vaultLogin(), env: vaultEnv({ VAULT_ADDR: 'vault:8200:x' }), code: 2, message: /VAULT_ADDR='vault:8200:x'/ },
    { name: 'listing clusters with a refused token', args: () => ['clusters'], env: vaultEnv({ VAULT_TOKEN: 'hvs.not-the-token' }), code: 4, message: /403/ },
  ];
  for (const c of cases) it(`${c.name}: exit ${c.code}, one line, no file changed`, () => runCase(c));
});

describe('identity provider discovery', () => {
  const cases: Case[] = [
    { name: 'discovery 404', before: () => void (provider.faults.discovery = 'not-found'), args: () => login(), code: 5, message: /discovery|HTTP 404/ },
    { name: 'discovery not JSON', before: () => void (provider.faults.discovery = 'invalid-json'), args: () => login(), code: 5, message: /discovery|JSON|unexpectedly/ },
    { name: 'discovery names another issuer', before: () => void (provider.faults.discovery = 'issuer-mismatch'), args: () => login(), code: 5, message: /issuer/ },
    { name: 'TLS certificate not trusted (no CA given)', args: () => login(files.untrustedCatalog), code: 5, message: /not trusted/ },
  ];
  for (const c of cases) it(`${c.name}: exit ${c.code}, one line, no file changed`, () => runCase(c));
});

describe('raw ID tokens handed to rbac apply (the RBAC verifier): refused before any API call', () => {
  let counter = 0;
  const tokenFile = (token: string): string => {
    counter += 1;
    const path = dir.file(`token-${counter}`);
    writeFileSync(path, `${token}\n`, { mode: 0o600 });
    return path;
  };
  const now = () => Math.floor(Date.now() / 1000);
  const apply = (token: () => Promise<string>, issuer: 'provider' | 'front' = 'provider') => async (): Promise<string[]> => [
    'rbac', 'apply', '--id-token', tokenFile(await token()),
    '--issuer-url', issuer === 'provider' ? provider.issuer : front.issuer, '--client-id', 'k8s-auth',
    '--idp-ca-file', issuer === 'provider' ? files.idpCa : files.frontCa,
    '--mapping', files.mapping, '--kubeconfig', files.adminKubeconfig, '--http-timeout', '5',
  ];
  const cases: (Omit<Case, 'args'> & { args: () => Promise<string[]> })[] = [
    { name: 'bad signature', args: apply(async () => tamperSignature(await provider.mintIdToken({ emailVerified: true }))), code: 5, message: /signature does not verify/ },
    { name: 'alg none', args: apply(async () => algNone(await provider.mintIdToken({ emailVerified: true }))), code: 5, message: /signed with 'none', which is refused/ },
    {
      name: 'HS256 signed with the client id as secret',
      args: apply(() => new SignJWT({ email: 'jane@example.com', email_verified: true, sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(provider.issuer).setAudience('k8s-auth').setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode('k8s-auth-k8s-auth-k8s-auth-k8s-auth'))),
      code: 5,
      message: /signed with 'HS256', which is refused/,
    },
    { name: 'wrong audience', args: apply(() => provider.mintIdToken({ audience: 'another-client', emailVerified: true })), code: 5, message: /audience 'another-client', not 'k8s-auth'/ },
    { name: 'wrong issuer', args: apply(() => provider.mintIdToken({ issuer: 'https://evil.example/dex', emailVerified: true })), code: 5, message: /issued by 'https:\/\/evil\.example\/dex'/ },
    { name: 'expired', args: apply(() => provider.mintIdToken({ issuedAt: now() - 7200, expiresInSeconds: 3600, emailVerified: true })), code: 5, message: /expired at/ },
    { name: 'issued in the future', args: apply(() => provider.mintIdToken({ issuedAt: now() + 3600, emailVerified: true })), code: 5, message: /issued in the future|not valid yet|iat/ },
    { name: 'email not verified', args: apply(() => provider.mintIdToken({ emailVerified: false })), code: 5, message: /is not verified by the provider/ },
    { name: 'signed by a key the JWKS lacks', before: () => void (front.jwks = 'other-key'), args: apply(() => front.mint({ emailVerified: true }), 'front'), code: 5, message: /no key of .* matches/ },
    { name: 'not a JWT', args: apply(async () => 'this-is-not-a-jwt'), code: 5, message: /not a JWT/ },
    { name: 'empty token file', args: apply(async () => ''), code: 2, message: /is empty/ },
  ];
  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, one line, nothing sent to the API server`, async () => {
      const args = await c.args();
      await runCase({ ...c, args: () => args });
      expect(api.requests).toEqual([]);
    });
  }
});

describe('mappings and identities that cannot become RBAC', () => {
  const mapping = (name: string, text: string): string => {
    const path = dir.file(`mapping-${name}.yaml`);
    writeFileSync(path, text);
    return path;
  };
  const apply = (mappingFile: () => string, token: () => Promise<string> = () => provider.mintIdToken({ emailVerified: true })) => async (): Promise<string[]> => {
    const path = dir.file(`token-m-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, await token(), { mode: 0o600 });
    return ['rbac', 'apply', '--id-token', path, '--issuer-url', provider.issuer, '--client-id', 'k8s-auth', '--idp-ca-file', files.idpCa, '--mapping', mappingFile(), '--kubeconfig', files.adminKubeconfig];
  };
  const cases: (Omit<Case, 'args'> & { args: () => Promise<string[]> })[] = [
    { name: 'unknown top-level key', args: apply(() => mapping('top', 'serviceAccountNamespace: default\ngroupz: {}\n')), code: 2, message: /unknown key 'groupz'/ },
    { name: 'unknown key in a group', args: apply(() => mapping('group', 'groups:\n  developers:\n    clusterrole: view\n')), code: 2, message: /unknown key 'clusterrole'/ },
    { name: 'wrong type (namespaces a string)', args: apply(() => mapping('type', 'groups:\n  developers:\n    clusterRole: view\n    namespaces: team-a\n')), code: 2, message: /namespaces/ },
    { name: 'not YAML', args: apply(() => mapping('yaml', 'groups: [\n')), code: 2, message: /is not valid YAML/ },
    { name: 'missing mapping file', args: apply(() => dir.file('no-such-mapping.yaml')), code: 2, message: /cannot read the mapping file/ },
    {
      name: 'an email with no letters or digits (empty ServiceAccount name)',
      args: apply(() => files.mapping, () => provider.mintIdToken({ email: '@.@', emailVerified: true })),
      code: 2,
      message: /identity '@\.@' has no letters or digits/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, one line, nothing sent to the API server`, async () => {
      const args = await c.args();
      await runCase({ ...c, args: () => args });
      expect(api.writes()).toEqual([]);
    });
  }

  it('an over-long email becomes a valid 63-character ServiceAccount name (cut with a hash, no error)', async () => {
    const email = `${'a'.repeat(120)}.${'b'.repeat(120)}@example.com`;
    const path = dir.file('token-long');
    writeFileSync(path, await provider.mintIdToken({ email, sub: 'long-email-user', emailVerified: true, groups: ['developers'] }), { mode: 0o600 });
    const run = await spawnCli(['rbac', 'apply', '--id-token', path, '--issuer-url', provider.issuer, '--client-id', 'k8s-auth', '--idp-ca-file', files.idpCa, '--mapping', files.mapping, '--kubeconfig', files.adminKubeconfig, '-o', 'json'], cleanEnv({ HOME: dir.file('home') })).exited;
    expect(run.code, run.stderr).toBe(0);
    const name = (JSON.parse(run.stdout) as { serviceAccount: { name: string } }).serviceAccount.name;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(api.get('serviceaccounts', name, 'default')).toBeDefined();
  });
});

describe('API server refusals', () => {
  const token = (...extra: string[]) => ['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'json', '--kubeconfig', files.adminKubeconfig, '--http-timeout', '5', ...extra];
  const tokenRequests = () => api.requests.filter((r) => r.resource === 'serviceaccounts/token').length;
  const fault = (f: Fault) => () => api.addFault(f);
  const tr = { verb: 'create', resource: 'serviceaccounts/token' };
  const cases: Case[] = [
    { name: 'token: 403', before: fault({ ...tr, kind: 'forbidden' }), args: () => token(), code: 9, message: /you may not mint tokens for ServiceAccount default\/ci .*\(403 Forbidden\)/, after: () => expect(tokenRequests()).toBe(1) },
    { name: 'token: 404 (no such ServiceAccount)', args: () => ['token', '--ttl', '1h', '--service-account', 'ghost', '-o', 'json', '--kubeconfig', files.adminKubeconfig], code: 9, message: /ServiceAccount default\/ghost does not exist/, after: () => expect(tokenRequests()).toBe(1) },
    { name: 'token: 422', before: fault({ ...tr, kind: 'error', status: 422, message: 'spec.expirationSeconds: Invalid value' }), args: () => token(), code: 9, message: /422|invalid/i, after: () => expect(tokenRequests()).toBe(1) },
    {
      name: 'token: 429 with Retry-After 1, every time (bounded retries)',
      before: fault({ ...tr, kind: 'throttle', retryAfterSeconds: 1 }),
      args: () => token(),
      code: 9,
      message: /throttl|429/,
      after: (run) => {
        expect(tokenRequests()).toBe(4); // one try and 3 retries (token-request.ts withRetries)
        expect(run.ms).toBeGreaterThanOrEqual(3_000); // Retry-After honoured between tries
      },
    },
    { name: 'token: 500 every time (bounded retries)', before: fault({ ...tr, kind: 'error', status: 500 }), args: () => token(), code: 9, message: /500/, after: () => expect(tokenRequests()).toBe(4) },
    { name: 'token --ttl 5m (refused before any request)', args: () => ['token', '--ttl', '5m', '--service-account', 'ci', '-o', 'json', '--kubeconfig', files.adminKubeconfig], code: 2, message: /shorter than the 10 minute minimum/, after: () => expect(api.requests).toEqual([]) },
  ];
  for (const c of cases) it(`${c.name}: exit ${c.code}, one line, no file changed`, () => runCase(c));

  const rbacArgs = async (): Promise<string[]> => {
    const path = dir.file(`token-api-${Math.random().toString(36).slice(2)}`);
    writeFileSync(path, await provider.mintIdToken({ email: 'ops@example.com', emailVerified: true, groups: ['developers'] }), { mode: 0o600 });
    return ['rbac', 'apply', '--id-token', path, '--issuer-url', provider.issuer, '--client-id', 'k8s-auth', '--idp-ca-file', files.idpCa, '--mapping', files.mapping, '--kubeconfig', files.adminKubeconfig, '--http-timeout', '5'];
  };
  const writesTo = (resource: string) => api.requests.filter((r) => r.resource === resource && r.method !== 'GET').length;
  const rbacCases: (Omit<Case, 'args'> & { args: () => Promise<string[]> })[] = [
    { name: 'rbac apply: 403 on creating the ServiceAccount', before: fault({ verb: 'create', resource: 'serviceaccounts', kind: 'forbidden' }), args: rbacArgs, code: 9, message: /you may not create serviceaccounts/, after: () => expect(writesTo('serviceaccounts')).toBe(1) },
    { name: 'rbac apply: 500 on a create (a write: not retried)', before: fault({ verb: 'create', resource: 'serviceaccounts', kind: 'error', status: 500 }), args: rbacArgs, code: 9, message: /500/, after: () => expect(writesTo('serviceaccounts')).toBe(1) },
    { name: 'rbac apply: 422 on a create', before: fault({ verb: 'create', resource: 'serviceaccounts', kind: 'error', status: 422, message: 'metadata.name: Invalid value' }), args: rbacArgs, code: 9, message: /rejected .* as invalid/, after: () => expect(writesTo('serviceaccounts')).toBe(1) },
    {
      name: 'rbac apply: 429 on a create, every time (bounded retries)',
      before: fault({ verb: 'create', resource: 'serviceaccounts', kind: 'throttle', retryAfterSeconds: 1 }),
      args: rbacArgs,
      code: 9,
      message: /429/,
      after: () => expect(writesTo('serviceaccounts')).toBe(4),
    },
  ];
  for (const c of rbacCases) {
    it(`${c.name}: exit ${c.code}, one line, no file changed`, async () => {
      const args = await c.args();
      await runCase({ ...c, args: () => args });
    });
  }

  it('rbac apply: 409 on every update of a managed ClusterRole: exit 9 after a bounded number of re-reads', async () => {
    // first a clean apply creates the objects; then the rules change, so the role needs an update
    const rules = (verbs: string) => `serviceAccountNamespace: default\ngroups:\n  developers:\n    rules:\n      - apiGroups: [""]\n        resources: ["pods"]\n        verbs: [${verbs}]\n`;
    const first = dir.file('mapping-rules-1.yaml');
    writeFileSync(first, rules('get'));
    const withMapping = async (file: string) => (await rbacArgs()).map((a) => (a === files.mapping ? file : a));
    const created = await spawnCli(await withMapping(first), cleanEnv({ HOME: dir.file('home') })).exited;
    expect(created.code, created.stderr).toBe(0);
    const second = dir.file('mapping-rules-2.yaml');
    writeFileSync(second, rules('get, list'));
    const args = await withMapping(second);
    api.resetRecords();
    api.addFault({ verb: 'update', resource: 'clusterroles', kind: 'conflict' });
    const before = snapshotTree(dir.path);
    const run = await spawnCli(args, cleanEnv({ HOME: dir.file('home') })).exited;
    expect(run.code, run.stderr).toBe(9);
    expectOneLineError(run.stderr, { message: /409|kept changing/ });
    const updates = api.requests.filter((r) => r.verb === 'update' && r.resource === 'clusterroles').length;
    expect(updates).toBeGreaterThan(1); // re-read and tried again ...
    expect(updates).toBeLessThanOrEqual(5); // ... a bounded number of times
    expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
  
  });
});
