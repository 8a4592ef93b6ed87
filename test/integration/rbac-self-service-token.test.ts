// The self-service token Role and RoleBinding through `rbac apply|list|revoke` against the test
// provider and the Kubernetes API double (real @kubernetes/client-node), and through the built
// CLI for --username-prefix / K8S_AUTH_RBAC_USERNAME_PREFIX. What the real apiserver makes of
// them is test/cluster/self-service-token.test.ts.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyRbac, type ApplyOptions } from '../../src/usecases/rbac/apply.js';
import { listManaged, revokeRbac } from '../../src/usecases/rbac/manage.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';

let provider: TestProvider;
let double: KubeApiDouble;
let dir: string;
let caFile: string;

const BASE = 'groups:\n  developers:\n    clusterRole: view\n    namespaces: [team-a]\n';
const TOKEN_RULE = { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'], resourceNames: [] as string[] };

let files = 0;
async function file(text: string): Promise<string> {
  files += 1;
  const path = join(dir, `f-${files}`);
  await writeFile(path, text, { mode: 0o600 });
  return path;
}

async function options(claims: { email: string; sub: string; groups?: string[] }, mapping: string, extra: Partial<ApplyOptions> = {}): Promise<ApplyOptions> {
  const token = await provider.mintIdToken({ emailVerified: true, groups: ['developers'], ...claims });
  return {
    idToken: await file(token),
    issuerUrl: provider.issuer,
    clientId: provider.clientId,
    idpCaFile: caFile,
    mappingFile: await file(mapping),
    kube: { kubeconfig: double.kubeconfigPath },
    env: {},
    ...extra,
  };
}

const tokenRoleOf = (sa: string) => double.get('roles', `k8s-auth-token:${sa}`, 'default');
const tokenBindingOf = (sa: string) => double.get('rolebindings', `k8s-auth-token:${sa}`, 'default');
const writes = () => double.writes().map((w) => `${w.method} ${w.resource}${w.namespace ? ` ${w.namespace}` : ''}`);

beforeAll(async () => {
  [provider, double] = await Promise.all([startTestProvider(), startKubeApiDouble()]);
  dir = await mkdtemp(join(tmpdir(), 'k8s-auth-rbac-self-service-'));
  caFile = await file(provider.caPem);
  double.seed('namespaces', { metadata: { name: 'team-a' } });
  double.seed('clusterroles', { metadata: { name: 'view' }, rules: [] });
});

afterAll(async () => {
  await Promise.all([provider?.close(), double?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  double.clearFaults();
  double.resetRecords();
});

describe('rbac apply: the user may mint tokens for their own ServiceAccount', () => {
  it('creates the Role and the RoleBinding to the user; the report names the Kubernetes user; a second apply writes nothing', async () => {
    const { result } = await applyRbac(await options({ email: 'amy@example.com', sub: 'amy' }, BASE));
    expect(result.selfServiceTokens).toEqual({ user: 'amy@example.com', role: 'default/k8s-auth-token:amy-example-com' });
    expect(result.warnings).toEqual([]);
    expect(tokenRoleOf('amy-example-com')?.['rules']).toEqual([{ ...TOKEN_RULE, resourceNames: ['amy-example-com'] }]);
    expect(tokenRoleOf('amy-example-com')?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'k8s-auth', 'k8s-auth.io/service-account': 'amy-example-com', 'k8s-auth.io/purpose': 'self-service-token' });
    const binding = tokenBindingOf('amy-example-com');
    expect(binding?.['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'k8s-auth-token:amy-example-com' });
    expect(binding?.['subjects']).toEqual([{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'amy@example.com' }]);
    expect(binding?.metadata.annotations).toMatchObject({ 'k8s-auth.io/issuer': provider.issuer, 'k8s-auth.io/subject': 'amy' });

    double.resetRecords();
    const again = await applyRbac(await options({ email: 'amy@example.com', sub: 'amy' }, BASE));
    expect(again.result.plan).toEqual([]);
    expect(double.writes()).toEqual([]);
  });

  it('the usernamePrefix option overrides the mapping, and a changed prefix updates only the RoleBinding subject', async () => {
    const claims = { email: 'bo@example.com', sub: 'bo' };
    await applyRbac(await options(claims, `usernamePrefix: "oidc:"\n${BASE}`));
    expect((tokenBindingOf('bo-example-com')?.['subjects'] as { name: string }[])[0]?.name).toBe('oidc:bo@example.com');
    const uid = tokenBindingOf('bo-example-com')?.metadata.uid;

    double.resetRecords();
    const { result } = await applyRbac(await options(claims, `usernamePrefix: "oidc:"\n${BASE}`, { usernamePrefix: 'corp:' }));
    expect(result.plan).toEqual([{ op: 'update', kind: 'RoleBinding', name: 'k8s-auth-token:bo-example-com', namespace: 'default', detail: 'subjects' }]);
    expect(writes()).toEqual(['PUT rolebindings default']);
    expect(tokenBindingOf('bo-example-com')?.metadata.uid).toBe(uid);
    expect((tokenBindingOf('bo-example-com')?.['subjects'] as { name: string }[])[0]?.name).toBe('corp:bo@example.com');
  });

  it('selfServiceTokens: false deletes the RoleBinding, then the Role, and leaves the rest', async () => {
    const claims = { email: 'cy@example.com', sub: 'cy' };
    await applyRbac(await options(claims, BASE));
    double.resetRecords();
    const { result } = await applyRbac(await options(claims, `selfServiceTokens: false\n${BASE}`));
    expect(result.selfServiceTokens).toBeNull();
    expect(writes()).toEqual(['DELETE rolebindings default', 'DELETE roles default']);
    expect(tokenRoleOf('cy-example-com')).toBeUndefined();
    expect(tokenBindingOf('cy-example-com')).toBeUndefined();
    expect(double.get('rolebindings', 'k8s-auth:default:cy-example-com:view', 'team-a')).toBeDefined();

    double.resetRecords();
    await applyRbac(await options(claims, BASE));
    expect(writes()).toEqual(['POST roles default', 'POST rolebindings default']);
  });

  it('a Role of that name that k8s-auth does not manage is refused and nothing is written', async () => {
    double.seed('roles', { metadata: { name: 'k8s-auth-token:di-example-com', namespace: 'default' }, rules: [] });
    const { plan } = await applyRbac(await options({ email: 'di@example.com', sub: 'di' }, BASE));
    expect(plan.actions.filter((a) => a.op === 'refuse').map((a) => `${a.ref.kind} ${a.ref.name}`)).toEqual(['Role k8s-auth-token:di-example-com']);
    expect(double.writes()).toEqual([]);
  });

  it('a non-email username claim without a prefix is warned about (kube-apiserver would add <issuer>#)', async () => {
    const { result } = await applyRbac(await options({ email: 'ed@example.com', sub: 'ed-sub' }, BASE, { usernameClaim: 'sub', dryRun: true }));
    expect(result.selfServiceTokens).toEqual({ user: 'ed-sub', role: 'default/k8s-auth-token:ed-sub' });
    expect(result.warnings).toEqual([
      `the username claim is 'sub', which kube-apiserver prefixes with '${provider.issuer}#' unless its --oidc-username-prefix says otherwise; the token RoleBinding names the user without a prefix: set usernamePrefix in the mapping (or --username-prefix) to the API server's value`,
    ]);
    const prefixed = await applyRbac(await options({ email: 'ed@example.com', sub: 'ed-sub' }, BASE, { usernameClaim: 'sub', dryRun: true, usernamePrefix: `${provider.issuer}#` }));
    expect(prefixed.result.warnings).toEqual([]);
    expect(prefixed.result.selfServiceTokens?.user).toBe(`${provider.issuer}#ed-sub`);
  });
});

describe('rbac list and revoke', () => {
  it('list shows who may mint (not as a role); revoke deletes the Role and RoleBinding too', async () => {
    await applyRbac(await options({ email: 'fay@example.com', sub: 'fay' }, BASE));
    const fay = (await listManaged({ kube: { kubeconfig: double.kubeconfigPath } })).find((a) => a.serviceAccount === 'fay-example-com');
    expect(fay?.tokenUser).toBe('fay@example.com');
    expect(fay?.bindings.map((b) => `${b.role}@${b.namespace ?? '*'}`)).toEqual(['view@team-a']);

    double.resetRecords();
    const { result } = await revokeRbac({ target: 'fay@example.com', kube: { kubeconfig: double.kubeconfigPath } });
    expect(result.plan.map((p) => `${p.op} ${p.kind} ${p.namespace ?? '-'} ${p.name}`)).toEqual([
      'delete RoleBinding default k8s-auth-token:fay-example-com',
      'delete RoleBinding team-a k8s-auth:default:fay-example-com:view',
      'delete Role default k8s-auth-token:fay-example-com',
      'delete ServiceAccount default fay-example-com',
    ]);
    expect(tokenRoleOf('fay-example-com')).toBeUndefined();
    expect(tokenBindingOf('fay-example-com')).toBeUndefined();
    expect(double.get('serviceaccounts', 'fay-example-com', 'default')).toBeUndefined();
  });
});

describe.skipIf(!existsSync(join(repoRoot, 'dist', 'cli.js')))('the CLI: --username-prefix and K8S_AUTH_RBAC_USERNAME_PREFIX', () => {
  const run = async (email: string, extraArgs: string[], extraEnv: Record<string, string> = {}) => {
    const token = await file(await provider.mintIdToken({ email, sub: email, emailVerified: true, groups: ['developers'] }));
    const args = ['rbac', 'apply', '--id-token', token, '--issuer-url', provider.issuer, '--client-id', provider.clientId, '--idp-ca-file', caFile, '--mapping', await file(`usernamePrefix: "map:"\n${BASE}`), '-o', 'json', ...extraArgs];
    const cli = await runCli(args, cleanEnv({ HOME: dir, KUBECONFIG: double.kubeconfigPath, ...extraEnv }));
    expect(cli.stderr).toBe(`verified ${email} (issuer ${provider.issuer}) from ${token}\n`);
    expect(cli.code).toBe(0);
    return (JSON.parse(cli.stdout) as { selfServiceTokens: { user: string } }).selfServiceTokens.user;
  };

  it('the mapping value, then the environment over it, then the flag over both; an empty value means no prefix', async () => {
    expect(await run('g1@example.com', [])).toBe('map:g1@example.com');
    expect(await run('g2@example.com', [], { K8S_AUTH_RBAC_USERNAME_PREFIX: 'env:' })).toBe('env:g2@example.com');
    expect(await run('g3@example.com', ['--username-prefix', 'flag:'], { K8S_AUTH_RBAC_USERNAME_PREFIX: 'env:' })).toBe('flag:g3@example.com');
    expect(await run('g4@example.com', ['--username-prefix', ''])).toBe('g4@example.com');
    expect(await run('g5@example.com', ['--username-prefix=-'])).toBe('g5@example.com');
    expect((tokenBindingOf('g3-example-com')?.['subjects'] as { name: string }[])[0]?.name).toBe('flag:g3@example.com');
  });
});
