// `k8s-auth proxy` (issue 14) with real peers: kube-apiserver 1.37 (./kubernetes.ts, structured
// authentication trusting real Dex), real Dex ID tokens from `k8s-auth login --grant password`,
// and the kubectl built beside the apiserver talking through the proxy.
//   local mode: get/list, create/delete, `get -w` seeing a ConfigMap created meanwhile,
//               --read-only refusing a create (and the object not created), the audit log, an
//               auth-provider user's expired ID token renewed at Dex and written back
//   serve mode: the API server is reached with the admin kubeconfig (system:masters may
//               impersonate); Dex's ID token is verified by the proxy and the caller becomes
//               an impersonated user with the proxy's prefixes; `kubectl --as system:admin` is
//               never honoured (the header is stripped); a bad token is 401 from the proxy.
// Upgrades (exec/attach/port-forward) need a kubelet this API server does not have: see
// test/integration/auth-proxy-upgrade.test.ts (an upgrade-speaking test server).
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { AuditRecord } from '../../../src/core/proxy-request.js';
import { apiRequest } from '../../cluster/api-client.js';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../../support/pki.js';
import { cliEntry, runCli } from '../../support/run-cli.js';
import { kubectlPaths, skipUnless } from '../../support/skip.js';
import { startProxyCli, type RunningProxyCli } from '../../integration/auth-proxy-harness.js';
import { dexAvailable, dexVersion, startDex, type DexPeer } from '../dex/dex.js';
import { currentKubectl, currentKubernetesAvailable, currentKubernetesMissing, kubernetesVersion, startCurrentApiServer, waitForJwtAuthenticator, type CurrentApiServer } from './kubernetes.js';

const execFileAsync = promisify(execFile);
const kubectl132 = kubectlPaths().v1_32;
const skip =
  skipUnless(currentKubernetesAvailable(), currentKubernetesMissing()) ||
  skipUnless(dexAvailable(), `Dex ${dexVersion} not built (bash test/peers/dex/install.sh, with slapd)`);

interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The audit log's line: the product's own record type (docs/proxy.md#audit-log). */
type AuditLine = AuditRecord;

describe.skipIf(skip)(`k8s-auth proxy against kube-apiserver ${kubernetesVersion} with Dex`, () => {
  let dir: TempDir;
  let dex: DexPeer;
  let cp: CurrentApiServer;
  let ca: CertificateAuthority;
  let userKubeconfig = '';
  let idToken = '';
  let jane = { email: '', groups: [] as string[] };
  let local: RunningProxyCli;
  const auditFile = () => dir.file('local-audit.jsonl');

  /** kubectl against `server` with nothing but that server (and a token when given) */
  const kubectl = (server: string, args: string[], opts: { token?: string; caFile?: string; timeoutMs?: number; binary?: string } = {}): Promise<KubectlRun> => {
    const kubeconfig = dir.file(`kubectl-${Math.random().toString(36).slice(2)}.kubeconfig`);
    writeFileSync(kubeconfig, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'p',
      clusters: [{ name: 'p', cluster: { server, ...(opts.caFile ? { 'certificate-authority': opts.caFile } : {}) } }],
      users: [{ name: 'u', user: opts.token ? { token: opts.token } : {} }],
      contexts: [{ name: 'p', context: { cluster: 'p', user: 'u', namespace: 'default' } }],
    }));
    return execFileAsync(opts.binary ?? currentKubectl, [...args, '--kubeconfig', kubeconfig], { env: cleanEnv({ HOME: dir.path }), timeout: opts.timeoutMs ?? 30_000 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
    );
  };
  const audit = (file: string): AuditLine[] => readFileSync(file, 'utf8').trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as AuditLine);
  const getConfigMap = (name: string) => apiRequest(cp, { path: `/api/v1/namespaces/default/configmaps/${name}`, auth: cp.adminAuth });

  beforeAll(async () => {
    dir = tempDir('k8s-auth-auth-proxy-');
    const t0 = Date.now();
    [dex, ca] = await Promise.all([startDex({ logLevel: 'info' }), createCa('k8s-auth proxy test CA')]);
    const ldapJane = dex.users.find((u) => u.uid === 'jane');
    if (!ldapJane) throw new Error('Dex: no LDAP user jane');
    jane = { email: ldapJane.email, groups: ldapJane.groups };
    cp = await startCurrentApiServer({
      authenticationConfig: [{ url: dex.issuer, caPem: dex.caPem, audiences: [dex.publicClientId], username: { claim: 'email', prefix: 'dex:' }, groups: { claim: 'groups', prefix: 'dex:' } }],
    });
    const t1 = Date.now();
    // jane (through Dex) may do anything with ConfigMaps and read namespaces; nothing else
    const role = await apiRequest(cp, {
      method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterroles', auth: cp.adminAuth,
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'proxy-test' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['*'] }, { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] }] },
    });
    expect(role.status).toBe(201);
    const binding = await apiRequest(cp, {
      method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', auth: cp.adminAuth,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'proxy-test' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'proxy-test' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `dex:${jane.email}` }, { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `proxied:${jane.email}` }],
      },
    });
    expect(binding.status).toBe(201);
    // the user's kubeconfig, as k8s-auth login writes it (auth-provider oidc with Dex's ID token)
    userKubeconfig = dir.file('jane.kubeconfig');
    const catalog = writeCatalog(dir.file('clusters.yaml'), {
      lab: { server: cp.server, 'certificate-authority-data': cp.caData, 'issuer-url': dex.issuer, 'client-id': dex.publicClientId, 'idp-certificate-authority-data': base64(dex.caPem) },
    });
    const login = await runCli(['login', 'lab', '--catalog', catalog, '--kubeconfig', userKubeconfig, '--grant', 'password', '--username', ldapJane.email], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: ldapJane.password }), { timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(0);
    const doc = parse(readFileSync(userKubeconfig, 'utf8')) as { users: { user: { 'auth-provider'?: { config: Record<string, string> } } }[] };
    idToken = doc.users[0]?.user['auth-provider']?.config['id-token'] ?? '';
    await waitForJwtAuthenticator(cp, idToken);
    local = await startProxyCli(['lab', '--kubeconfig', userKubeconfig, '--port', '0', '--audit-log', auditFile()], cleanEnv({ HOME: dir.path }));
    process.stderr.write(`auth-proxy: Dex + CA ${t1 - t0} ms incl. control plane ${kubernetesVersion}; login and proxy ${Date.now() - t1} ms\n`);
  }, 240_000);

  afterAll(async () => {
    await local?.stop();
    await cp?.stop();
    await dex?.stop();
    if (ca) await removeCa(ca);
    dir?.remove();
  });

  it('prints where it serves and who it forwards as (the API server\'s SelfSubjectReview)', () => {
    expect(local.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(local.stderr()).toContain(`as dex:${jane.email}`);
  });

  it('get and list through the proxy act as the signed-in user; the client sends no credential', async () => {
    const base = `http://${local.listen}`;
    const whoami = await kubectl(base, ['auth', 'whoami', '-o', 'json']);
    expect(whoami.code, whoami.stderr).toBe(0);
    const info = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
    expect(info.username).toBe(`dex:${jane.email}`);
    expect(info.groups).toEqual(expect.arrayContaining(jane.groups.map((g) => `dex:${g}`)));
    const ns = await kubectl(base, ['get', 'namespace', 'default', '-o', 'name']);
    expect(ns.code, ns.stderr).toBe(0);
    expect(ns.stdout.trim()).toBe('namespace/default');
    const list = await kubectl(base, ['get', 'configmaps', '-o', 'name']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('configmap/kube-root-ca.crt');
    // RBAC still applies: jane may not list pods
    const pods = await kubectl(base, ['get', 'pods']);
    expect(pods.code).toBe(1);
    expect(pods.stderr).toContain(`User "dex:${jane.email}" cannot list resource "pods"`);
  });

  it.skipIf(skipUnless(kubectl132.available, `${kubectl132.path} not found: run scripts/fetch-kubectl.sh`))('Debian kubectl 1.32 through the proxy too: list and create/delete', async () => {
    const base = `http://${local.listen}`;
    const list = await kubectl(base, ['get', 'configmaps', '-o', 'name'], { binary: kubectl132.path });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain('configmap/kube-root-ca.crt');
    const create = await kubectl(base, ['create', 'configmap', 'from-132', '--from-literal=k=v'], { binary: kubectl132.path });
    expect(create.code, create.stderr).toBe(0);
    const del = await kubectl(base, ['delete', 'configmap', 'from-132'], { binary: kubectl132.path });
    expect(del.code, del.stderr).toBe(0);
    expect((await getConfigMap('from-132')).status).toBe(404);
  });

  it('create and delete through the proxy, and each request is one audit line', async () => {
    const base = `http://${local.listen}`;
    const create = await kubectl(base, ['create', 'configmap', 'through-proxy', '--from-literal=k=v']);
    expect(create.code, create.stderr).toBe(0);
    expect((await getConfigMap('through-proxy')).status).toBe(200);
    const del = await kubectl(base, ['delete', 'configmap', 'through-proxy']);
    expect(del.code, del.stderr).toBe(0);
    expect((await getConfigMap('through-proxy')).status).toBe(404);
    const lines = audit(auditFile());
    const created = lines.find((l) => l.method === 'POST' && l.path === '/api/v1/namespaces/default/configmaps');
    expect(created).toMatchObject({ user: `dex:${jane.email}`, verb: 'create', namespace: 'default', status: 201 });
    expect(created?.bytes).toBeGreaterThan(0);
    expect(created?.duration_ms).toBeGreaterThan(0);
    expect(lines.find((l) => l.method === 'DELETE' && l.path === '/api/v1/namespaces/default/configmaps/through-proxy')).toMatchObject({ verb: 'delete', status: 200 });
    expect(lines.find((l) => l.path === '/api/v1/namespaces/default/pods')).toMatchObject({ verb: 'list', status: 403 });
  });

  it('kubectl get -w streams: a ConfigMap created meanwhile arrives through the proxy', async () => {
    writeFileSync(dir.file('watch.kubeconfig'), stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'p',
      clusters: [{ name: 'p', cluster: { server: `http://${local.listen}` } }], users: [{ name: 'u', user: {} }],
      contexts: [{ name: 'p', context: { cluster: 'p', user: 'u', namespace: 'default' } }],
    }));
    const w = spawn(currentKubectl, ['get', 'configmaps', '-w', '-o', 'name', '--kubeconfig', dir.file('watch.kubeconfig')], { env: cleanEnv({ HOME: dir.path }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    w.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    w.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const until = async (what: string, ms: number) => {
      const end = Date.now() + ms;
      while (!out.includes(what) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      return out.includes(what);
    };
    try {
      expect(await until('configmap/kube-root-ca.crt', 20_000), `${out} ${err}`).toBe(true);
      const created = await apiRequest(cp, { method: 'POST', path: '/api/v1/namespaces/default/configmaps', auth: cp.adminAuth, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' }, data: { a: 'b' } } });
      expect(created.status).toBe(201);
      expect(await until('configmap/watched', 20_000), `${out} ${err}`).toBe(true);
    } finally {
      w.kill('SIGKILL');
      await apiRequest(cp, { method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/watched', auth: cp.adminAuth });
    }
    const lines = audit(auditFile());
    expect(lines.some((l) => l.verb === 'watch' && l.path === '/api/v1/namespaces/default/configmaps')).toBe(true);
  }, 60_000);

  it('an exec-plugin user (`k8s-auth login --exec`): the proxy forwards the ID token from k8s-auth\'s token cache, and refreshes a stale one at Dex', async () => {
    const execKubeconfig = dir.file('jane-exec.kubeconfig');
    const catalog = dir.file('clusters.yaml');
    const ldapJane = dex.users.find((u) => u.uid === 'jane');
    const login = await runCli(['login', 'lab', '--exec', '--exec-command', cliEntry, '--catalog', catalog, '--kubeconfig', execKubeconfig, '--grant', 'password', '--username', jane.email, '--token-cache-dir', dir.file('cache')], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: ldapJane?.password }), { timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(0);
    const doc = parse(readFileSync(execKubeconfig, 'utf8')) as { users: { user: { exec?: { args: string[] } } }[] };
    expect(doc.users[0]?.user.exec?.args).toContain('credential');
    const p = await startProxyCli(['lab', '--kubeconfig', execKubeconfig, '--port', '0', '-v'], cleanEnv({ HOME: dir.path }));
    try {
      const whoami = await kubectl(`http://${p.listen}`, ['auth', 'whoami', '-o', 'json']);
      expect(whoami.code, whoami.stderr).toBe(0);
      expect((JSON.parse(whoami.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(`dex:${jane.email}`);
      expect(p.stderr()).toContain("upstream token from the exec plugin's token cache");
    } finally {
      expect(await p.stop('SIGTERM')).toBe(0);
    }
    // The cache entry goes stale (its ID token rewritten to have expired an hour ago; the
    // signature no longer matches, so were it forwarded the API server would refuse it): the
    // proxy's `credential` run refreshes it at Dex with the cached refresh token, and kubectl works.
    const cacheDir = dir.file('cache');
    const files = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const cacheFile = join(cacheDir, files[0] ?? '');
    const entry = JSON.parse(readFileSync(cacheFile, 'utf8')) as { idToken: string; expiresAt: string };
    const [h, payload, sig] = entry.idToken.split('.') as [string, string, string];
    const now = Math.floor(Date.now() / 1000);
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const stale = `${h}.${Buffer.from(JSON.stringify({ ...claims, iat: now - 7200, exp: now - 3600 })).toString('base64url')}.${sig}`;
    writeFileSync(cacheFile, JSON.stringify({ ...entry, idToken: stale, expiresAt: new Date((now - 3600) * 1000).toISOString() }), { mode: 0o600 });
    const again = await startProxyCli(['lab', '--kubeconfig', execKubeconfig, '--port', '0'], cleanEnv({ HOME: dir.path }));
    try {
      const whoami = await kubectl(`http://${again.listen}`, ['auth', 'whoami', '-o', 'json']);
      expect(whoami.code, whoami.stderr).toBe(0);
      expect((JSON.parse(whoami.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(`dex:${jane.email}`);
      const renewed = JSON.parse(readFileSync(cacheFile, 'utf8')) as { idToken: string };
      expect(renewed.idToken).not.toBe(stale);
      const renewedExp = (JSON.parse(Buffer.from(renewed.idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number }).exp;
      expect(renewedExp).toBeGreaterThan(now);
      expect(again.stderr()).not.toContain(renewed.idToken);
    } finally {
      expect(await again.stop('SIGTERM')).toBe(0);
    }
  }, 90_000);

  it('an auth-provider user whose ID token expired: the proxy renews it at Dex with the refresh token, writes both back to the kubeconfig, and kubectl works', async () => {
    // a login of its own (Dex keeps one refresh token per user and client: the exec login above
    // replaced the first one), then its id-token rewritten to say it expired an hour ago (its
    // signature no longer matches: were it forwarded, the API server would refuse it)
    const expiredKubeconfig = dir.file('jane-expired.kubeconfig');
    const login = await runCli(['login', 'lab', '--catalog', dir.file('clusters.yaml'), '--kubeconfig', expiredKubeconfig, '--grant', 'password', '--username', jane.email], cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: dex.users.find((u) => u.uid === 'jane')?.password }), { timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(0);
    type UserDoc = { users: { user: { 'auth-provider': { config: Record<string, string> } } }[] };
    const configOf = (file: string) => (parse(readFileSync(file, 'utf8')) as UserDoc).users[0]?.user['auth-provider'].config ?? {};
    const doc = parse(readFileSync(expiredKubeconfig, 'utf8')) as UserDoc;
    const config = doc.users[0]?.user['auth-provider'].config ?? {};
    const [h, p, sig] = (config['id-token'] ?? '').split('.') as [string, string, string];
    const now = Math.floor(Date.now() / 1000);
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const expired = `${h}.${Buffer.from(JSON.stringify({ ...claims, iat: now - 7200, exp: now - 3600 })).toString('base64url')}.${sig}`;
    const oldRefresh = config['refresh-token'];
    expect(oldRefresh).toBeTruthy();
    const loggedIn = config['id-token'];
    config['id-token'] = expired;
    writeFileSync(expiredKubeconfig, stringify(doc), { mode: 0o600 });
    const proxy = await startProxyCli(['lab', '--kubeconfig', expiredKubeconfig, '--port', '0'], cleanEnv({ HOME: dir.path }));
    try {
      const base = `http://${proxy.listen}`;
      const [whoami, list] = await Promise.all([kubectl(base, ['auth', 'whoami', '-o', 'json']), kubectl(base, ['get', 'configmaps', '-o', 'name'])]);
      expect(whoami.code, whoami.stderr).toBe(0);
      expect((JSON.parse(whoami.stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(`dex:${jane.email}`);
      expect(list.code, list.stderr).toBe(0);
      const after = configOf(expiredKubeconfig);
      expect(after['id-token']).not.toBe(expired);
      expect(after['id-token']).not.toBe(loggedIn);
      const renewed = JSON.parse(Buffer.from(after['id-token']?.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number; email: string };
      expect(renewed.exp).toBeGreaterThan(now);
      expect(renewed.email).toBe(jane.email);
      // Dex rotates refresh tokens: the new one is stored, as kubectl's oidc plugin stores it
      expect(after['refresh-token']).toBeTruthy();
      expect(after['refresh-token']).not.toBe(oldRefresh);
      expect(existsSync(`${expiredKubeconfig}.lock`)).toBe(false);
      expect(statSync(expiredKubeconfig).mode & 0o777).toBe(0o600);
      expect(proxy.stderr()).toMatch(/renewed the ID token of context '[^']+' \(written to /);
      expect(proxy.stderr()).not.toContain(after['id-token'] ?? '');
    } finally {
      expect(await proxy.stop('SIGTERM')).toBe(0);
    }
  }, 60_000);

  it('--read-only: kubectl get works, kubectl create gets 403 with a Status message, and nothing is created', async () => {
    const ro = await startProxyCli(['lab', '--kubeconfig', userKubeconfig, '--port', '0', '--read-only', '--audit-log', '-'], cleanEnv({ HOME: dir.path }));
    try {
      const base = `http://${ro.listen}`;
      const read = await kubectl(base, ['get', 'configmap', 'kube-root-ca.crt', '-o', 'name']);
      expect(read.code, read.stderr).toBe(0);
      const write = await kubectl(base, ['create', 'configmap', 'read-only-refused', '--from-literal=k=v']);
      expect(write.code).toBe(1);
      expect(write.stderr).toContain('k8s-auth proxy is read-only: POST is refused (only GET, HEAD and OPTIONS pass)');
      const raw = await apiThroughProxy(`${base}/api/v1/namespaces/default/configmaps`, 'POST', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'read-only-refused' } }));
      expect(raw.status).toBe(403);
      expect(raw.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 });
      expect((await getConfigMap('read-only-refused')).status).toBe(404);
    } finally {
      expect(await ro.stop('SIGINT')).toBe(0);
    }
    const lines = ro.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as AuditLine);
    expect(lines.find((l) => l.method === 'POST')).toMatchObject({ verb: 'create', status: 403, user: `dex:${jane.email}` });
  }, 60_000);

  it('serve mode: Dex ID tokens become impersonated users; --as system:admin is never honoured; a bad token is 401 and not forwarded', async () => {
    const tls = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1'], kind: 'server' });
    writeFileSync(dir.file('dex-ca.pem'), dex.caPem);
    const serveAudit = dir.file('serve-audit.jsonl');
    const serve = await startProxyCli([
      'serve', '--issuer', dex.issuer, '--issuer-ca', dir.file('dex-ca.pem'), '--client-id', dex.publicClientId,
      '--upstream-kubeconfig', cp.adminKubeconfig, '--tls-cert', tls.certFile, '--tls-key', tls.keyFile, '--port', '0',
      '--username-prefix', 'proxied:', '--groups-prefix', 'proxied:', '--audit-log', serveAudit,
    ], cleanEnv({ HOME: dir.path }));
    try {
      const base = `https://${serve.listen}`;
      const whoami = await kubectl(base, ['auth', 'whoami', '-o', 'json'], { token: idToken, caFile: ca.certFile });
      expect(whoami.code, whoami.stderr).toBe(0);
      const info = (JSON.parse(whoami.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
      expect(info.username).toBe(`proxied:${jane.email}`);
      expect(info.groups).toEqual(expect.arrayContaining([...jane.groups.map((g) => `proxied:${g}`), 'system:authenticated']));
      expect(info.groups).not.toContain('system:masters');

      // the client asks to be system:admin (and in system:masters): the proxy drops both headers
      const as = await kubectl(base, ['auth', 'whoami', '-o', 'json', '--as', 'system:admin', '--as-group', 'system:masters'], { token: idToken, caFile: ca.certFile });
      expect(as.code, as.stderr).toBe(0);
      const asInfo = (JSON.parse(as.stdout) as { status: { userInfo: { username: string; groups: string[] } } }).status.userInfo;
      expect(asInfo.username).toBe(`proxied:${jane.email}`);
      expect(asInfo.groups).not.toContain('system:masters');
      const secrets = await kubectl(base, ['get', 'secrets', '--as', 'system:admin', '--as-group', 'system:masters'], { token: idToken, caFile: ca.certFile });
      expect(secrets.code).toBe(1);
      expect(secrets.stderr).toContain(`User "proxied:${jane.email}" cannot list resource "secrets"`);

      // what jane's binding allows, she can do through serve mode
      const create = await kubectl(base, ['create', 'configmap', 'via-serve', '--from-literal=k=v'], { token: idToken, caFile: ca.certFile });
      expect(create.code, create.stderr).toBe(0);
      const made = await getConfigMap('via-serve');
      expect(made.status).toBe(200);
      expect((made.json as { metadata: { managedFields?: { manager?: string }[] } }).metadata.managedFields?.[0]?.manager).toBe('kubectl-create');

      // a token that is not Dex's: 401 from the proxy itself, with its Status message
      const [h, p] = idToken.split('.') as [string, string, string];
      const forged = `${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`;
      const bad = await kubectl(base, ['get', 'configmaps'], { token: forged, caFile: ca.certFile });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/Unauthorized|must be logged in/);
      const raw = await fetchStatus(`${base}/api/v1/namespaces/default/configmaps`, forged, ca.certPem);
      expect(raw.status).toBe(401);
      expect(raw.body).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
      expect(String((raw.body as { message: string }).message)).toContain("signature does not verify");
      const none = await fetchStatus(`${base}/api/v1/namespaces/default/configmaps`, undefined, ca.certPem);
      expect(none.status).toBe(401);
      expect(String((none.body as { message: string }).message)).toContain('no ID token');
    } finally {
      expect(await serve.stop('SIGTERM')).toBe(0);
      await apiRequest(cp, { method: 'DELETE', path: '/api/v1/namespaces/default/configmaps/via-serve', auth: cp.adminAuth });
    }
    const lines = audit(serveAudit);
    expect(lines.filter((l) => l.status === 401).every((l) => l.user === '')).toBe(true);
    expect(lines.filter((l) => l.status === 401).length).toBeGreaterThanOrEqual(2);
    expect(lines.find((l) => l.method === 'POST')).toMatchObject({ user: `proxied:${jane.email}`, groups: jane.groups.map((g) => `proxied:${g}`), verb: 'create', status: 201 });
  }, 90_000);
});

async function fetchStatus(url: string, token: string | undefined, caPem: string): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: caPem, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function apiThroughProxy(url: string, method: string, body: string): Promise<{ status: number; body: unknown }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
