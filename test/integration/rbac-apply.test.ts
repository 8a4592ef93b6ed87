// `rbac apply` end to end against real peers: ID tokens minted by the oidc-provider test
// provider (verified over HTTPS through its discovery and JWKS), and the Kubernetes API double
// driven by the real @kubernetes/client-node.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyRbac, type ApplyOptions } from '../../src/usecases/rbac/apply.js';
import { listManaged, revokeRbac, syncRbac } from '../../src/usecases/rbac/manage.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';

let provider: TestProvider;
let double: KubeApiDouble;
let dir: string;
let caFile: string;
let mappingFile: string;

const MAPPING = `
serviceAccountNamespace: default
groups:
  admins:
    clusterRole: admin
  developers:
    rules:
      - apiGroups: ["", "apps"]
        resources: ["pods", "deployments"]
        verbs: ["get", "list", "watch"]
    namespaces: [team-a]
`;

beforeAll(async () => {
  [provider, double] = await Promise.all([startTestProvider(), startKubeApiDouble()]);
  dir = await mkdtemp(join(tmpdir(), 'k8s-auth-rbac-apply-'));
  caFile = join(dir, 'idp-ca.pem');
  await writeFile(caFile, provider.caPem);
  mappingFile = join(dir, 'mapping.yaml');
  await writeFile(mappingFile, MAPPING);
  double.seed('namespaces', { metadata: { name: 'team-a' } });
  for (const role of ['admin', 'edit', 'view', 'cluster-admin']) double.seed('clusterroles', { metadata: { name: role }, rules: [] });
});

afterAll(async () => {
  await Promise.all([provider?.close(), double?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  double.clearFaults();
  double.resetRecords();
});

let counter = 0;
async function tokenFile(token: string): Promise<string> {
  counter += 1;
  const path = join(dir, `token-${counter}`);
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return path;
}

async function options(token: string, extra: Partial<ApplyOptions> = {}): Promise<ApplyOptions> {
  return {
    idToken: await tokenFile(token),
    issuerUrl: provider.issuer,
    clientId: provider.clientId,
    idpCaFile: caFile,
    mappingFile,
    kube: { kubeconfig: double.kubeconfigPath },
    env: {},
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<CliError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).message).not.toContain('\n');
    return error as CliError;
  }
  throw new Error('expected a CliError');
}

describe('rbac apply with a verified token', () => {
  it("creates ops's ServiceAccount, managed role and bindings; a second apply writes nothing", async () => {
    const token = await provider.mintIdToken({ email: 'ops@example.com' });
    const first = await applyRbac(await options(token));
    expect(first.result.serviceAccount).toEqual({ name: 'ops-example-com', namespace: 'default' });
    expect(first.result.groups).toEqual({ granted: ['admins', 'developers'], ignored: [] });
    expect(first.result.plan.map((p) => `${p.op} ${p.kind} ${p.namespace ?? '-'} ${p.name}`)).toEqual([
      'create ServiceAccount default ops-example-com',
      'create ClusterRole - k8s-auth-developers',
      'create Role default k8s-auth-token:ops-example-com',
      'create ClusterRoleBinding - k8s-auth:default:ops-example-com:admin',
      'create RoleBinding default k8s-auth-token:ops-example-com',
      'create RoleBinding team-a k8s-auth:default:ops-example-com:k8s-auth-developers',
    ]);
    expect(first.result.writes).toBe(6);
    expect(double.writes().map((w) => `${w.method} ${w.resource}`).sort()).toEqual([
      'POST clusterrolebindings',
      'POST clusterroles',
      'POST rolebindings',
      'POST rolebindings',
      'POST roles',
      'POST serviceaccounts',
    ]);
    // the ServiceAccount first, roles before any binding
    const order = double.writes().map((w) => w.resource);
    expect(order[0]).toBe('serviceaccounts');
    expect(Math.max(order.indexOf('clusterroles'), order.indexOf('roles'))).toBeLessThan(Math.min(order.indexOf('clusterrolebindings'), order.indexOf('rolebindings')));

    const sa = double.get('serviceaccounts', 'ops-example-com', 'default');
    expect(sa?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'k8s-auth', 'k8s-auth.io/service-account': 'ops-example-com' });
    expect(sa?.metadata.annotations).toMatchObject({ 'k8s-auth.io/issuer': provider.issuer, 'k8s-auth.io/subject': provider.users[1]!.sub });
    const rb = double.get('rolebindings', 'k8s-auth:default:ops-example-com:k8s-auth-developers', 'team-a');
    expect(rb?.['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'k8s-auth-developers' });
    expect(rb?.['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'ops-example-com', namespace: 'default' }]);

    double.resetRecords();
    const again = await applyRbac(await options(await provider.mintIdToken({ email: 'ops@example.com' })));
    expect(again.result.plan).toEqual([]);
    expect(again.result.writes).toBe(0);
    expect(double.writes()).toEqual([]);
    expect(double.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('a group change writes the minimal set and never recreates the ServiceAccount', async () => {
    const token = await provider.mintIdToken({ email: 'ops@example.com', groups: ['developers', 'view', 'strangers'] });
    await applyRbac(await options(await provider.mintIdToken({ email: 'ops@example.com' })));
    const saBefore = double.get('serviceaccounts', 'ops-example-com', 'default');
    double.resetRecords();
    const changed = await applyRbac(await options(token));
    expect(changed.result.groups.ignored).toEqual(['strangers']);
    expect(changed.result.plan.map((p) => `${p.op} ${p.kind} ${p.name}`)).toEqual([
      'create ClusterRoleBinding k8s-auth:default:ops-example-com:view',
      'delete ClusterRoleBinding k8s-auth:default:ops-example-com:admin',
    ]);
    expect(double.writes().map((w) => `${w.method} ${w.resource}`)).toEqual(['POST clusterrolebindings', 'DELETE clusterrolebindings']);
    expect(double.get('serviceaccounts', 'ops-example-com', 'default')?.metadata.uid).toBe(saBefore?.metadata.uid);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const token = await provider.mintIdToken({ email: 'jane@example.com', groups: ['developers', 'edit'] });
    const dry = await applyRbac(await options(token, { dryRun: true }));
    expect(dry.result.plan.length).toBeGreaterThan(0);
    expect(dry.result.writes).toBe(0);
    expect(double.writes()).toEqual([]);
    expect(double.get('serviceaccounts', 'jane-example-com', 'default')).toBeUndefined();
  });

  it('refuses objects of the same name that k8s-auth does not manage, and writes nothing', async () => {
    double.seed('serviceaccounts', { metadata: { name: 'foreign-example-com', namespace: 'default' } });
    const token = await provider.mintIdToken({ email: 'foreign@example.com', sub: 'foreign-sub', groups: ['view'], emailVerified: true });
    const { plan } = await applyRbac(await options(token));
    expect(plan.actions.map((a) => a.op)).toContain('refuse');
    expect(double.writes()).toEqual([]);
    expect(double.get('serviceaccounts', 'foreign-example-com', 'default')?.metadata.labels).toBeUndefined();
  });

  it('GitHub org:team groups count as in jwt-to-rbac', async () => {
    const token = await provider.mintIdToken({
      email: 'gh@example.com',
      sub: 'gh-sub',
      emailVerified: true,
      groups: ['acme:admins', 'other:view'],
      extraClaims: { federated_claims: { connector_id: 'github', user_id: '4242' } },
    });
    const { result } = await applyRbac(await options(token, { githubOrg: 'acme', dryRun: true }));
    expect(result.groups).toEqual({ granted: ['admins'], ignored: ['other-view'] });
  });
});

describe('the default token: the current login', () => {
  it("verifies the kubeconfig's oidc id-token against the login's own issuer and client id", async () => {
    const token = await provider.mintIdToken({ email: 'jane@example.com', groups: ['view'] });
    const loginKubeconfig = join(dir, 'login-kubeconfig');
    const ca = Buffer.from(provider.caPem).toString('base64');
    await writeFile(
      loginKubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: jane',
        'clusters:',
        '- name: prod',
        '  cluster:',
        '    server: https://127.0.0.1:1',
        'users:',
        '- name: jane',
        '  user:',
        '    auth-provider:',
        '      name: oidc',
        '      config:',
        `        idp-issuer-url: ${provider.issuer}`,
        '        client-id: k8s-auth',
        `        idp-certificate-authority-data: ${ca}`,
        `        id-token: ${token}`,
        'contexts:',
        '- name: jane',
        '  context:',
        '    cluster: prod',
        '    user: jane',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const { result } = await applyRbac({ kubeconfig: loginKubeconfig, kube: { kubeconfig: double.kubeconfigPath }, mappingFile, env: {}, dryRun: true });
    expect(result.user).toMatchObject({ username: 'jane@example.com', issuer: provider.issuer, tokenSource: 'kubeconfig context jane' });
    expect(result.groups.granted).toEqual(['view']);
    expect(double.writes()).toEqual([]);
  });

  it('without a token or an issuer, says what to pass', async () => {
    const error = await rejection(applyRbac({ idToken: await tokenFile(await provider.mintIdToken()), kube: { kubeconfig: double.kubeconfigPath }, env: {} }));
    expect(error.exitCode).toBe(ExitCode.USAGE);
    expect(error.message).toBe('nothing says which issuer to verify the ID token against: name a catalog cluster (`rbac plan CLUSTER`) or pass --issuer-url with --client-id');
    expect(double.requests).toEqual([]);
  });
});

describe('tokens that fail verification create nothing', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      'tampered',
      async () => {
        const [h, p, s] = (await provider.mintIdToken({ email: 'jane@example.com' })).split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
        claims['groups'] = ['cluster-admin'];
        return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      },
      /signature does not verify/,
    ],
    ['expired', () => provider.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 }), /the ID token expired at/],
    ['wrong audience', () => provider.mintIdToken({ email: 'jane@example.com', audience: 'someone-else' }), /audience 'someone-else', not 'k8s-auth'/],
    ['wrong issuer', () => provider.mintIdToken({ email: 'jane@example.com', issuer: 'https://evil.example/dex' }), /issued by 'https:\/\/evil.example\/dex'/],
    ['unverified email', () => provider.mintIdToken({ email: 'unverified@example.com' }), /email unverified@example.com is not verified/],
    [
      'alg none',
      async () => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: provider.issuer, sub: 'x', aud: 'k8s-auth', email: 'jane@example.com', email_verified: true, groups: ['cluster-admin'], exp: 9999999999, iat: 1 })).toString('base64url')}.`,
      /signed with 'none', which is refused/,
    ],
    [
      'HS256 with the client id as secret',
      () =>
        new SignJWT({ email: 'jane@example.com', email_verified: true, groups: ['cluster-admin'] })
          .setProtectedHeader({ alg: 'HS256' })
          .setIssuer(provider.issuer)
          .setAudience('k8s-auth')
          .setSubject('x')
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('k8s-auth-shared-secret-0123456789')),
      /signed with 'HS256', which is refused/,
    ],
  ];

  it.each(cases)('%s', async (_name, mint, message) => {
    const error = await rejection(applyRbac(await options(await mint())));
    expect(error.exitCode).toBe(ExitCode.PROVIDER);
    expect(error.message).toMatch(message);
    expect(double.requests).toEqual([]);
    expect(double.writes()).toEqual([]);
  });

  it('an unverified email is accepted only with --allow-unverified-email', async () => {
    const token = await provider.mintIdToken({ email: 'unverified@example.com' });
    const { result } = await applyRbac(await options(token, { allowUnverifiedEmail: true, dryRun: true }));
    expect(result.serviceAccount.name).toBe('unverified-example-com');
  });
});

describe('API faults', () => {
  it('a 403 names the verb and resource the caller lacks, after the ServiceAccount', async () => {
    double.addFault({ kind: 'forbidden', verb: 'create', resource: 'clusterrolebindings' });
    const token = await provider.mintIdToken({ email: 'jane@example.com', groups: ['view'] });
    const error = await rejection(applyRbac(await options(token)));
    expect(error.exitCode).toBe(ExitCode.KUBERNETES);
    expect(error.message).toBe("you may not create clusterrolebindings: ask a cluster admin for 'create' on clusterrolebindings.rbac.authorization.k8s.io, or use a kubeconfig context that has it");
    double.clearFaults();
    const retried = await applyRbac(await options(token));
    expect(retried.result.plan.map((p) => p.op)).toEqual(['create']);
  });

  it('a 409 on update is retried with a fresh read', async () => {
    const first = await provider.mintIdToken({ email: 'ops@example.com', groups: ['admins'] });
    await applyRbac(await options(first));
    // the built-in group 'admin' now also grants admin: the binding's groups annotation changes
    const renamed = await provider.mintIdToken({ email: 'ops@example.com', groups: ['admins', 'admin'] });
    double.resetRecords();
    double.addFault({ kind: 'conflict', verb: 'update', resource: 'clusterrolebindings', times: 1 });
    const { result } = await applyRbac(await options(renamed));
    expect(result.plan.map((p) => `${p.op} ${p.name}`)).toEqual(['update k8s-auth:default:ops-example-com:admin']);
    const crbWrites = double.requests.filter((r) => r.resource === 'clusterrolebindings' && r.name === 'k8s-auth:default:ops-example-com:admin');
    expect(crbWrites.map((r) => `${r.method} ${r.status}`)).toEqual(['PUT 409', 'GET 200', 'PUT 200']);
    expect(double.get('clusterrolebindings', 'k8s-auth:default:ops-example-com:admin')?.metadata.annotations?.['k8s-auth.io/groups']).toBe('admin,admins');
  });

  it('429 with Retry-After and a 500 on a read are retried; the apply succeeds', async () => {
    double.addFault({ kind: 'throttle', verb: 'create', resource: 'serviceaccounts', retryAfterSeconds: 1, times: 1 });
    double.addFault({ kind: 'error', status: 500, verb: 'list', resource: 'clusterroles', times: 1 });
    const token = await provider.mintIdToken({ email: 'retry@example.com', sub: 'retry-sub', emailVerified: true, groups: ['view'] });
    const started = Date.now();
    const { result } = await applyRbac(await options(token));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.writes).toBe(4);
    expect(double.requests.filter((r) => r.resource === 'serviceaccounts' && r.method === 'POST').map((r) => r.status)).toEqual([429, 201]);
    expect(double.requests.filter((r) => r.resource === 'clusterroles' && r.verb === 'list').map((r) => r.status)).toEqual([500, 200]);
  });

  it('a 500 on a write is not retried and is one line', async () => {
    double.addFault({ kind: 'error', status: 500, verb: 'create', resource: 'rolebindings', namespace: 'team-a' });
    const token = await provider.mintIdToken({ email: 'five@example.com', sub: 'five-sub', emailVerified: true, groups: ['developers'] });
    const error = await rejection(applyRbac(await options(token)));
    expect(error.exitCode).toBe(ExitCode.KUBERNETES);
    expect(error.message).toMatch(/^the API server failed to create rolebindings k8s-auth:default:five-example-com:k8s-auth-developers in namespace team-a \(500 InternalError/);
    expect(double.requests.filter((r) => r.resource === 'rolebindings' && r.namespace === 'team-a' && r.method === 'POST')).toHaveLength(1);
  });

  it('a slow API server is waited for within the timeout', async () => {
    double.addFault({ kind: 'slow', delayMs: 300, verb: 'get', resource: 'serviceaccounts', times: 1 });
    const token = await provider.mintIdToken({ email: 'slow@example.com', sub: 'slow-sub', emailVerified: true, groups: ['view'] });
    const { result } = await applyRbac(await options(token, { dryRun: true }));
    expect(result.plan.length).toBe(4);
    // a read that times out once is retried...
    double.addFault({ kind: 'slow', delayMs: 1500, verb: 'get', resource: 'serviceaccounts', times: 1 });
    const impatient = { kubeconfig: double.kubeconfigPath, timeoutMs: 400 };
    expect((await applyRbac(await options(token, { dryRun: true, kube: impatient }))).result.plan.length).toBe(4);
    // ...a bounded number of times
    double.resetRecords();
    double.addFault({ kind: 'slow', delayMs: 1500, verb: 'get', resource: 'serviceaccounts' });
    const error = await rejection(applyRbac(await options(token, { dryRun: true, kube: impatient })));
    expect(error.exitCode).toBe(ExitCode.KUBERNETES);
    expect(error.message).toBe(`Kubernetes API server at ${double.url} did not answer within 0.4s (get serviceaccounts): check the address and your network, or raise --http-timeout`);
    expect(double.requests.filter((r) => r.resource === 'serviceaccounts' && r.verb === 'get')).toHaveLength(4);
  });
});

describe('list, revoke and sync', () => {
  it('list shows managed ServiceAccounts with their roles; revoke removes them and unreferenced managed roles', async () => {
    await applyRbac(await options(await provider.mintIdToken({ email: 'lister@example.com', sub: 'lister-sub', emailVerified: true, groups: ['developers', 'view'] })));
    const listed = await listManaged({ kube: { kubeconfig: double.kubeconfigPath } });
    const lister = listed.find((a) => a.serviceAccount === 'lister-example-com');
    expect(lister?.username).toBe('lister@example.com');
    expect(lister?.bindings.map((b) => `${b.role}@${b.namespace ?? '*'}`)).toEqual(['view@*', 'k8s-auth-developers@team-a']);

    double.resetRecords();
    const { result } = await revokeRbac({ target: 'lister@example.com', kube: { kubeconfig: double.kubeconfigPath } });
    expect(result.serviceAccount).toEqual({ name: 'lister-example-com', namespace: 'default' });
    expect(double.get('serviceaccounts', 'lister-example-com', 'default')).toBeUndefined();
    expect(double.list('clusterrolebindings').filter((b) => b.metadata.name.includes('lister'))).toEqual([]);
    expect(double.list('rolebindings').filter((b) => b.metadata.name.includes('lister'))).toEqual([]);
    // other users still bind k8s-auth-developers, so it stays
    const stillUsed = double.list('rolebindings').some((b) => (b['roleRef'] as { name: string }).name === 'k8s-auth-developers');
    expect(double.get('clusterroles', 'k8s-auth-developers') !== undefined).toBe(stillUsed);
    expect(double.writes().every((w) => w.method === 'DELETE')).toBe(true);

    const error = await rejection(revokeRbac({ target: 'lister@example.com', kube: { kubeconfig: double.kubeconfigPath } }));
    expect(error.message).toMatch(/manages no ServiceAccount lister-example-com/);
  });

  it('sync updates managed roles from the mapping and removes those whose group left', async () => {
    await applyRbac(await options(await provider.mintIdToken({ email: 'syncer@example.com', sub: 'syncer-sub', emailVerified: true, groups: ['developers'] })));
    const next = join(dir, 'mapping-next.yaml');
    await writeFile(next, 'groups:\n  auditors:\n    rules:\n      - resources: [events]\n        verbs: [list]\n');
    double.resetRecords();
    const { result } = await syncRbac({ mappingFile: next, kube: { kubeconfig: double.kubeconfigPath }, env: {} });
    const ops = result.plan.map((p) => `${p.op} ${p.kind} ${p.name}`);
    expect(ops).toContain('create ClusterRole k8s-auth-auditors');
    expect(ops).toContain('delete ClusterRole k8s-auth-developers');
    expect(ops.filter((o) => o.startsWith('delete RoleBinding')).length).toBeGreaterThan(0);
    expect(double.get('clusterroles', 'k8s-auth-developers')).toBeUndefined();
    expect(double.list('rolebindings').filter((b) => (b['roleRef'] as { name: string }).name === 'k8s-auth-developers')).toEqual([]);
    double.resetRecords();
    const again = await syncRbac({ mappingFile: next, kube: { kubeconfig: double.kubeconfigPath }, env: {} });
    expect(again.result.plan).toEqual([]);
    expect(double.writes()).toEqual([]);
  });
});
