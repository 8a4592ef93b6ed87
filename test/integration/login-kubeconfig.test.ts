// kubeconfig files as login writes them: several KUBECONFIG paths, kubectl's lock file, atomic
// 0600 writes through symlinks, and refusals (directory, malformed) that leave the file alone;
// plus the CLI's early exits for a bad kubeconfig or catalog, before any browser.
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { readKubeconfig, setCurrentContextInFiles, updateKubeconfig } from '../../src/adapters/kubeconfig-file.js';
import { asciiBytesOf, readKubeconfigText } from '../../src/adapters/kubeconfig-read.js';
import { openTokenCache, writeCachedTokens } from '../../src/adapters/token-cache.js';
import { buildCredentialArgs, buildExecUser } from '../../src/core/exec-credential.js';
import { checkKubeconfig, renderKubeconfig, setCluster, setContext, setUser } from '../../src/core/kubeconfig-merge.js';
import { keyForEntry } from '../../src/usecases/credential.js';
import { ExitCode } from '../../src/errors.js';
import { readCurrentLogin } from '../../src/usecases/current-login.js';
import { cleanEnv, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { cliErrorOfAsync } from '../support/cli-error.js';

const failure = cliErrorOfAsync;

describe('kubeconfig files', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = tempDir('k8s-auth-kubeconfig-');
  });
  afterAll(() => dir.remove());

  it('writes entries to the first file that has them and current-context where kubectl reads it', async () => {
    const a = dir.file('a.yaml');
    const b = dir.file('b.yaml');
    writeFileSync(a, 'apiVersion: v1\nkind: Config\ncurrent-context: other\n');
    writeFileSync(b, 'apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://old\n');
    const written = await updateKubeconfig([a, b], { cluster: 'prod', context: 'prod' }, (doc) => setCluster(doc, 'prod', { server: 'https://new' }));
    expect(written).toBe(b);
    expect(await setCurrentContextInFiles([a, b], 'prod', written)).toBe(a);
    expect(parseDocument(readFileSync(a, 'utf8')).get('current-context')).toBe('prod');
    expect(parseDocument(readFileSync(b, 'utf8')).getIn(['clusters', 0, 'cluster', 'server'])).toBe('https://new');
    expect(parseDocument(readFileSync(b, 'utf8')).get('current-context')).toBeUndefined();
    // a new entry goes to the first file; with no current-context anywhere it goes with the entry
    const c = dir.file('c.yaml');
    expect(await updateKubeconfig([c, b], { cluster: 'dev' }, (doc) => setCluster(doc, 'dev', { server: 'https://dev' }))).toBe(c);
    expect(await setCurrentContextInFiles([c, dir.file('missing.yaml')], 'dev', c)).toBe(c);
  });

  it('writes atomically with mode 0600 through a symlink, creating the directory', async () => {
    const real = dir.file('dotfiles/kube-config');
    mkdirSync(dir.file('dotfiles'));
    writeFileSync(real, 'apiVersion: v1\nkind: Config\n', { mode: 0o644 });
    mkdirSync(dir.file('home/.kube'), { recursive: true });
    const link = dir.file('home/.kube/config');
    symlinkSync(real, link);
    await updateKubeconfig([link], { cluster: 'x' }, (doc) => setCluster(doc, 'x', { server: 'https://x' }));
    expect(statSync(link, { throwIfNoEntry: true }).isFile()).toBe(true);
    expect(readFileSync(real, 'utf8')).toContain('server: https://x');
    expect(statSync(real).mode & 0o777).toBe(0o600);
    const fresh = dir.file('new/sub/config');
    await updateKubeconfig([fresh], { cluster: 'x' }, (doc) => setCluster(doc, 'x', { server: 'https://x' }));
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
    expect(existsSync(`${fresh}.lock`)).toBe(false);
  });

  // the writer copies the unchanged spans from the bytes it read when the file is all ASCII
  // (adapters/kubeconfig-read.ts asciiBytesOf), and encodes the whole text otherwise
  it.each([
    ['all ASCII', '# fleet\n'],
    ['with non-ASCII text', '# flotte de Zoé, 日本\n'],
  ])('a scoped write of a file %s keeps every byte outside the entries it changes', async (_, comment) => {
    const path = dir.file(`bytes-${comment.length}.yaml`);
    const users = Array.from({ length: 40 }, (_, i) => `- name: u${i}@c${i}\n  user:\n    token: t${i}\n`).join('');
    const before = `apiVersion: v1\nkind: Config\n${comment}clusters:\n- name: c0\n  cluster:\n    server: https://c0\nusers:\n${users}contexts:\n- name: c0\n  context:\n    cluster: c0\n    user: u0@c0\ncurrent-context: c0\n`;
    writeFileSync(path, before, { mode: 0o600 });
    await new Promise((resolve) => setTimeout(resolve, 80)); // older than the reader's racy-write window, so its bytes are kept
    expect(readKubeconfigText(path)).toBe(before);
    expect(asciiBytesOf(path, before) !== undefined).toBe(comment === '# fleet\n');
    await updateKubeconfig([path], { cluster: 'c1', user: 'u7@c7', context: 'c1' }, (doc) => {
      setCluster(doc, 'c1', { server: 'https://c1' });
      setUser(doc, 'u7@c7', { token: 'new-é' });
      setContext(doc, 'c1', { cluster: 'c1', user: 'u7@c7' });
    });
    const after = readFileSync(path, 'utf8');
    expect(after).toBe(
      before
        .replace('users:\n', '- name: c1\n  cluster:\n    server: https://c1\nusers:\n')
        .replace('    token: t7\n', '    token: new-é\n')
        .replace('current-context: c0\n', '- name: c1\n  context:\n    cluster: c1\n    user: u7@c7\ncurrent-context: c0\n'),
    );
  });

  it('waits for a kubectl-style lock file and gives up with LOCK_TIMEOUT', async () => {
    const path = dir.file('locked.yaml');
    writeFileSync(path, 'apiVersion: v1\nkind: Config\n');
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), createdAt: new Date().toISOString() }));
    const e = await failure(() => updateKubeconfig([path], { cluster: 'x' }, (doc) => setCluster(doc, 'x', { server: 'https://x' }), { lockTimeoutMs: 300 }));
    expect(e.exitCode).toBe(ExitCode.LOCK_TIMEOUT);
    expect(readFileSync(path, 'utf8')).toBe('apiVersion: v1\nkind: Config\n');
  });

  it('refuses a directory, a malformed file and a non-mapping with one KUBECONFIG line, writing nothing', async () => {
    const directory = dir.file('is-a-dir');
    mkdirSync(directory);
    expect((await failure(() => readKubeconfig(directory))).message).toMatch(/is a directory/);
    const malformed = dir.file('malformed.yaml');
    writeFileSync(malformed, 'apiVersion: v1\nclusters: [\n');
    const e = await failure(() => updateKubeconfig([malformed], { cluster: 'x' }, (doc) => setCluster(doc, 'x', { server: 'https://x' })));
    expect(e.exitCode).toBe(ExitCode.KUBECONFIG);
    expect(e.message).not.toContain('\n');
    expect(readFileSync(malformed, 'utf8')).toBe('apiVersion: v1\nclusters: [\n');
    expect(existsSync(`${malformed}.lock`)).toBe(false);
    const list = dir.file('list.yaml');
    writeFileSync(list, '- a\n');
    expect((await failure(() => readKubeconfig(list))).exitCode).toBe(ExitCode.KUBECONFIG);
  });

  // a chmod 000 kubeconfig is refused in test/integration/reliability-local-inputs.test.ts, which
  // runs the CLI without root's file override so it holds on every machine

  it('reads the current login across files, including an exec-plugin user', () => {
    const a = dir.file('merged-a.yaml');
    const b = dir.file('merged-b.yaml');
    writeFileSync(a, 'current-context: prod\ncontexts:\n- name: prod\n  context: {cluster: prod, user: jane@prod, namespace: ns}\n');
    writeFileSync(
      b,
      [
        'clusters:',
        '- name: prod',
        '  cluster: {server: "https://prod:6443", certificate-authority-data: Q0E=}',
        'users:',
        '- name: jane@prod',
        '  user:',
        '    exec: {apiVersion: client.authentication.k8s.io/v1, command: k8s-auth, args: [credential, prod], interactiveMode: IfAvailable}',
        '- name: old@prod',
        '  user:',
        '    auth-provider: {name: oidc, config: {idp-issuer-url: "https://i", client-id: c, id-token: a.b.c, refresh-token: rrrrrr}}',
        'contexts:',
        '- name: old',
        '  context: {cluster: prod, user: old@prod}',
        '',
      ].join('\n'),
    );
    const env = { KUBECONFIG: `${a}:${b}` };
    expect(readCurrentLogin({ env })).toEqual({
      contextName: 'prod', clusterName: 'prod', userName: 'jane@prod', server: 'https://prod:6443', namespace: 'ns', caData: 'Q0E=', kind: 'exec', execCluster: 'prod', execArgs: ['credential', 'prod'], execCommand: 'k8s-auth', execApiVersion: 'client.authentication.k8s.io/v1', kubeconfigPath: b,
    });
    expect(readCurrentLogin({ env, context: 'old' })).toMatchObject({ kind: 'oidc', idToken: 'a.b.c', refreshToken: 'rrrrrr', issuerUrl: 'https://i', clientId: 'c' });
  });
});

describe('whoami', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = tempDir('k8s-auth-whoami-');
  });
  afterAll(() => dir.remove());

  const jwt = (claims: Record<string, unknown>) => ['eyJhbGciOiJSUzI1NiJ9', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'c2lnbmF0dXJl'].join('.');

  it('reads an exec-plugin user from the token cache its arguments name, never printing the token', async () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const idToken = jwt({ iss: 'https://dex.example/dex', sub: 'CgRqYW5l', email: 'jane@example.com', groups: ['developers'], exp });
    const cacheDir = dir.file('cache');
    const key = keyForEntry({ name: 'prod', server: 'https://prod', issuerUrl: 'https://dex.example/dex', clientId: 'k8s-auth', extraScopes: [], usernameClaim: 'email', groupsClaim: 'groups' });
    writeCachedTokens(openTokenCache(key, cacheDir), { key, idToken, expiresAt: new Date(exp * 1000).toISOString(), updatedAt: new Date().toISOString() });
    const doc = parseDocument('');
    checkKubeconfig(doc, 'new');
    setCluster(doc, 'prod', { server: 'https://prod:6443' });
    setUser(doc, 'jane@example.com@prod', buildExecUser({ apiVersion: 'client.authentication.k8s.io/v1', command: 'k8s-auth', args: buildCredentialArgs({ cluster: 'prod', issuer: key.issuer, clientId: key.clientId, scopes: key.scopes, cacheDir }) }));
    setContext(doc, 'prod', { cluster: 'prod', user: 'jane@example.com@prod' });
    const kubeconfig = dir.file('kubeconfig');
    writeFileSync(kubeconfig, renderKubeconfig(doc));
    const r = await startCli(['whoami', 'prod', '--kubeconfig', kubeconfig, '-o', 'json'], cleanEnv()).exited;
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      context: 'prod', cluster: 'prod', user: 'jane@example.com@prod', server: 'https://prod:6443', issuer: 'https://dex.example/dex', subject: 'CgRqYW5l',
      email: 'jane@example.com', groups: ['developers'], expiry: new Date(exp * 1000).toISOString(), expired: false, refreshable: true,
    });
    const text = await startCli(['whoami', 'prod', '--kubeconfig', kubeconfig], cleanEnv()).exited;
    expect(text.stdout).toMatch(/^email: +jane@example\.com$/m);
    expect(text.stdout + text.stderr).not.toContain(idToken);

    // logout removes the cache entry (no refresh token here, so nothing to revoke)
    const cacheFile = openTokenCache(key, cacheDir).file;
    expect(existsSync(cacheFile)).toBe(true);
    const out = await startCli(['logout', 'prod', '--kubeconfig', kubeconfig], cleanEnv()).exited;
    expect(out.code, out.stderr).toBe(0);
    expect(existsSync(cacheFile)).toBe(false);
    const after = await startCli(['whoami', 'prod', '--kubeconfig', kubeconfig], cleanEnv()).exited;
    // logged out: "needs a sign-in", exit 10, naming the command that keeps the exec form
    expect(after.code).toBe(10);
    expect(after.stderr.trim()).toBe("error: 'prod' needs a sign-in: user jane@example.com@prod of context prod holds no tokens (no cached sign-in in the token cache; logged out?): run `k8s-auth login prod --exec`");
  });

  it('says what to do when there is no login', async () => {
    const kubeconfig = dir.file('empty');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
    const r = await startCli(['whoami', '--kubeconfig', kubeconfig], cleanEnv()).exited;
    expect(r.code).toBe(8);
    expect(r.stderr.trim()).toBe(`error: no current context in ${kubeconfig}: run \`k8s-auth login <cluster>\` or name a context`);
  });
});

describe('login refuses early, before any browser', () => {
  let dir: TempDir;
  let catalog: string;
  let closedPort = 0;
  beforeAll(async () => {
    // a port nothing listens on (fetch refuses "bad ports" such as 1 before connecting)
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    dir = tempDir('k8s-auth-early-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'issuer-url': `https://127.0.0.1:${closedPort}/dex`, 'client-id': 'k8s-auth' },
      broken: { server: 'https://127.0.0.1:6443', 'issuer-url': 'not a url', 'client-id': 'k8s-auth' },
    });
  });
  afterAll(() => dir.remove());

  it('exits 8 for a kubeconfig that is a directory', async () => {
    mkdirSync(dir.file('kube-dir'));
    const r = await startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kube-dir'), '--no-browser'], cleanEnv()).exited;
    expect(r.code).toBe(8);
    expect(r.stderr.trim().split('\n')).toEqual([`error: kubeconfig ${dir.file('kube-dir')} is a directory, not a file: point --kubeconfig/KUBECONFIG at a file`]);
  });

  it('exits 3 naming cluster, source and field for a missing or malformed entry', async () => {
    const missing = await startCli(['login', 'nope', '--catalog', catalog, '--kubeconfig', dir.file('k')], cleanEnv()).exited;
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim()).toBe(`error: cluster 'nope' not found in ${catalog} (known: broken, prod)`);
    const broken = await startCli(['login', 'broken', '--catalog', catalog, '--kubeconfig', dir.file('k')], cleanEnv()).exited;
    expect(broken.code).toBe(3);
    expect(broken.stderr.trim()).toBe(`error: cluster 'broken' in ${catalog}: field 'issuer-url' is not a URL: 'not a url'`);
    const noFile = await startCli(['login', 'prod', '--kubeconfig', dir.file('k')], cleanEnv({ HOME: dir.path })).exited;
    expect(noFile.code).toBe(3);
    expect(noFile.stderr).toMatch(/no cluster catalog: VAULT_ADDR is not set and .*clusters\.yaml does not exist/);
  });

  it('exits 5 when the provider is unreachable, naming it', async () => {
    const r = await startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('k'), '--no-browser'], cleanEnv()).exited;
    expect(r.code).toBe(5);
    expect(r.stderr.trim()).toBe(`error: identity provider at https://127.0.0.1:${closedPort}/dex/.well-known/openid-configuration refused the connection: is it running and is the address right?`);
  });

  it('lists the catalog with `clusters`', async () => {
    const text = await startCli(['clusters', '--catalog', catalog], cleanEnv()).exited;
    expect(text.code).toBe(0);
    expect(text.stdout).toBe('broken\nprod\n');
    const json = await startCli(['clusters', '--catalog', catalog, '-o', 'json'], cleanEnv()).exited;
    expect(JSON.parse(json.stdout)).toEqual({ source: catalog, clusters: ['broken', 'prod'] });
  });
});
