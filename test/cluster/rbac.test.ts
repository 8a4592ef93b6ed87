// `k8s-auth rbac` (dist build, child process) against a real kube-apiserver 1.20 with the admin's
// kubeconfig: after `apply` with jane's ID token (minted by the test provider), the apiserver's
// own authorizer grants her ServiceAccount exactly what the mapping says, in the namespaces it
// names, and no more; a TokenRequest-minted token of that ServiceAccount shows the same; a
// second apply writes nothing; `revoke` takes it all away; a bad token creates nothing.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { writeFleetKubeconfig } from '../support/fleet-kubeconfig.js';
import { repoRoot } from '../support/skip.js';
import { apiRequest, createNamespaces, selfSubjectAccessReview, type AccessCheck } from './api-client.js';
import { startClusterFixture, type ClusterFixture } from './fixture.js';
import { clusterTierSkip } from './tier.js';

const skipTier = clusterTierSkip();
const SA = 'jane-example-com';
const SA_USER = `system:serviceaccount:default:${SA}`;

const MAPPING = `
serviceAccountNamespace: default
groups:
  developers:
    rules:
      - apiGroups: ["", "apps"]
        resources: ["pods", "deployments"]
        verbs: ["get", "list", "watch"]
    namespaces: [team-a]
  auditors:
    clusterRole: view
    namespaces: [team-b]
  readers:
    rules:
      - apiGroups: [""]
        resources: ["namespaces"]
        verbs: ["list"]
`;
const JANE_GROUPS = ['developers', 'auditors', 'readers', 'strangers'];

interface ApplyJson {
  serviceAccount: { name: string; namespace: string };
  groups: { granted: string[]; ignored: string[] };
  plan: { op: string; kind: string; name: string; namespace?: string }[];
  writes: number;
  api: { requests: number; writes: number; maxInFlight: number };
}

describe.skipIf(skipTier || !existsSync(join(repoRoot, 'dist', 'cli.js')))('k8s-auth rbac against a real kube-apiserver', () => {
  let fx: ClusterFixture;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let mappingFile: string;
  let idpCaFile: string;

  /** The apiserver's answer for the ServiceAccount, asked as admin (SubjectAccessReview). */
  async function saMay(check: AccessCheck): Promise<boolean> {
    const res = await apiRequest(fx.cp, {
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      auth: fx.cp.adminAuth,
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: SA_USER,
          groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
          resourceAttributes: { verb: check.verb, resource: check.resource, namespace: check.namespace ?? '', group: check.group ?? '' },
        },
      },
    });
    expect(res.status).toBe(201);
    return (res.json as { status: { allowed: boolean } }).status.allowed;
  }

  async function tokenFile(token: string, name: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, token, { mode: 0o600 });
    return path;
  }

  function applyArgs(tokenPath: string, ...extra: string[]): string[] {
    return ['rbac', 'apply', '--id-token', tokenPath, '--issuer-url', fx.provider.issuer, '--client-id', fx.provider.clientId, '--idp-ca-file', idpCaFile, '--mapping', mappingFile, ...extra];
  }

  // what the mapping grants jane (developers in team-a, view in team-b, readers cluster-wide), and what it must not
  const GRANTED: AccessCheck[] = [
    { verb: 'get', resource: 'pods', namespace: 'team-a' },
    { verb: 'list', resource: 'pods', namespace: 'team-a' },
    { verb: 'watch', resource: 'deployments', namespace: 'team-a', group: 'apps' },
    { verb: 'list', resource: 'configmaps', namespace: 'team-b' },
    { verb: 'get', resource: 'pods', namespace: 'team-b' },
    { verb: 'list', resource: 'namespaces' },
  ];
  const DENIED: AccessCheck[] = [
    { verb: 'delete', resource: 'pods', namespace: 'team-a' },
    { verb: 'create', resource: 'deployments', namespace: 'team-a', group: 'apps' },
    { verb: 'list', resource: 'configmaps', namespace: 'team-a' },
    { verb: 'get', resource: 'pods', namespace: 'team-c' },
    { verb: 'list', resource: 'pods' }, // cluster-wide
    { verb: 'get', resource: 'secrets', namespace: 'team-a' },
    { verb: 'get', resource: 'secrets', namespace: 'team-b' },
    { verb: 'get', resource: 'namespaces' },
    { verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io' },
    { verb: 'list', resource: 'nodes' },
  ];

  beforeAll(async () => {
    fx = await startClusterFixture();
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-rbac-cluster-'));
    env = cleanEnv({ HOME: dir, KUBECONFIG: fx.cp.adminKubeconfig });
    mappingFile = join(dir, 'mapping.yaml');
    idpCaFile = join(dir, 'idp-ca.pem');
    await writeFile(mappingFile, MAPPING);
    await writeFile(idpCaFile, fx.provider.caPem);
    await createNamespaces(fx.cp, fx.cp.adminAuth, ['team-a', 'team-b', 'team-c']);
  }, 180_000);

  afterAll(async () => {
    await fx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a tampered token creates nothing (exit 5)', async () => {
    const [h, p, s] = (await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] })).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    claims['groups'] = ['cluster-admin'];
    const forged = await tokenFile(`${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, 'forged');
    const run = await runCli(applyArgs(forged), env);
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/signature does not verify/);
    expect(run.stderr).not.toContain(h!);
    const sa = await apiRequest(fx.cp, { path: `/api/v1/namespaces/default/serviceaccounts/${SA}`, auth: fx.cp.adminAuth });
    expect(sa.status).toBe(404);
    expect(await saMay({ verb: 'get', resource: 'pods', namespace: 'team-a' })).toBe(false);
  });

  it("apply grants jane's ServiceAccount exactly what the mapping says, and no more", async () => {
    const token = await tokenFile(await fx.provider.mintIdToken({ email: 'jane@example.com', groups: JANE_GROUPS }), 'jane');
    const run = await runCli(applyArgs(token, '-o', 'json'), env);
    expect(run.stderr).toContain('groups without a rule (ignored): strangers');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as ApplyJson;
    expect(result.serviceAccount).toEqual({ name: SA, namespace: 'default' });
    expect(result.groups).toEqual({ granted: ['auditors', 'developers', 'readers'], ignored: ['strangers'] });
    expect(result.plan.map((p) => `${p.op} ${p.kind}`)).toEqual([
      'create ServiceAccount',
      'create ClusterRole',
      'create ClusterRole',
      'create Role', // default/k8s-auth-token:jane-example-com (test/cluster/self-service-token.test.ts)
      'create ClusterRoleBinding',
      'create RoleBinding',
      'create RoleBinding',
      'create RoleBinding',
    ]);
    expect(result.writes).toBe(8);

    for (const check of GRANTED) expect({ check, allowed: await saMay(check) }).toEqual({ check, allowed: true });
    for (const check of DENIED) expect({ check, allowed: await saMay(check) }).toEqual({ check, allowed: false });
  });

  it("a TokenRequest-minted token of her ServiceAccount has the same permissions", async () => {
    const minted = await apiRequest(fx.cp, {
      method: 'POST',
      path: `/api/v1/namespaces/default/serviceaccounts/${SA}/token`,
      auth: fx.cp.adminAuth,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
    });
    expect(minted.status).toBe(201);
    const auth = { kind: 'bearer' as const, token: (minted.json as { status: { token: string } }).status.token };
    expect(await selfSubjectAccessReview(fx.cp, auth, { verb: 'list', resource: 'pods', namespace: 'team-a' })).toEqual({ status: 201, allowed: true });
    expect(await selfSubjectAccessReview(fx.cp, auth, { verb: 'delete', resource: 'pods', namespace: 'team-a' })).toEqual({ status: 201, allowed: false });
    expect(await selfSubjectAccessReview(fx.cp, auth, { verb: 'list', resource: 'configmaps', namespace: 'team-a' })).toEqual({ status: 201, allowed: false });
    expect(await selfSubjectAccessReview(fx.cp, auth, { verb: 'get', resource: 'pods', namespace: 'team-c' })).toEqual({ status: 201, allowed: false });
    const pods = await apiRequest(fx.cp, { path: '/api/v1/namespaces/team-a/pods', auth });
    expect(pods.status).toBe(200);
    const secrets = await apiRequest(fx.cp, { path: '/api/v1/namespaces/team-a/secrets', auth });
    expect(secrets.status).toBe(403);
  });

  it('a second apply with a fresh token and the same mapping writes nothing, and keeps the ServiceAccount', async () => {
    const before = await apiRequest(fx.cp, { path: `/api/v1/namespaces/default/serviceaccounts/${SA}`, auth: fx.cp.adminAuth });
    const token = await tokenFile(await fx.provider.mintIdToken({ email: 'jane@example.com', groups: JANE_GROUPS }), 'jane-2');
    const run = await runCli(applyArgs(token, '-o', 'json'), env);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as ApplyJson;
    expect(result.plan).toEqual([]);
    expect(result.writes).toBe(0);
    expect(result.api.writes).toBe(0);
    expect(result.api.requests).toBeGreaterThan(0);
    const after = await apiRequest(fx.cp, { path: `/api/v1/namespaces/default/serviceaccounts/${SA}`, auth: fx.cp.adminAuth });
    const meta = (r: typeof before) => (r.json as { metadata: { uid: string; resourceVersion: string } }).metadata;
    expect(meta(after)).toMatchObject({ uid: meta(before).uid, resourceVersion: meta(before).resourceVersion });
  });

  it('list shows her; plan (dry run) after a group change shows the change and changes nothing', async () => {
    const list = await runCli(['rbac', 'list', '-o', 'json'], env);
    expect(list.code).toBe(0);
    const accounts = JSON.parse(list.stdout) as { serviceAccount: string; username: string; bindings: { role: string; namespace?: string }[] }[];
    expect(accounts.map((a) => [a.serviceAccount, a.username, a.bindings.map((b) => `${b.role}@${b.namespace ?? '*'}`)])).toEqual([[SA, 'jane@example.com', ['k8s-auth-readers@*', 'k8s-auth-developers@team-a', 'view@team-b']]]);

    const token = await tokenFile(await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] }), 'jane-3');
    const plan = await runCli(['rbac', 'plan', ...applyArgs(token).slice(2)], env);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain(`- delete ClusterRoleBinding k8s-auth:default:${SA}:k8s-auth-readers`);
    expect(plan.stdout).toContain(`- delete RoleBinding team-b/k8s-auth:default:${SA}:view`);
    expect(plan.stdout).toContain('(dry run: nothing changed)');
    expect(await saMay({ verb: 'list', resource: 'configmaps', namespace: 'team-b' })).toBe(true);
  });

  it('revoke removes every permission and the ServiceAccount', async () => {
    const run = await runCli(['rbac', 'revoke', 'jane@example.com'], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('- delete ServiceAccount default/jane-example-com');
    expect(run.stdout).toContain('- delete ClusterRole k8s-auth-developers');
    expect(run.stdout).toContain('- delete ClusterRole k8s-auth-readers');
    for (const check of GRANTED) expect({ check, allowed: await saMay(check) }).toEqual({ check, allowed: false });
    const sa = await apiRequest(fx.cp, { path: `/api/v1/namespaces/default/serviceaccounts/${SA}`, auth: fx.cp.adminAuth });
    expect(sa.status).toBe(404);
    const role = await apiRequest(fx.cp, { path: '/apis/rbac.authorization.k8s.io/v1/clusterroles/k8s-auth-developers', auth: fx.cp.adminAuth });
    expect(role.status).toBe(404);
    const listed = await runCli(['rbac', 'list', '-o', 'json'], env);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it("an unprivileged caller's 403 names the verb and resource it lacks", async () => {
    // jane's own OIDC login is authenticated by the apiserver but has no RBAC at all
    const janeKubeconfig = join(dir, 'jane-kubeconfig');
    const idToken = await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] });
    await writeFile(
      janeKubeconfig,
      `apiVersion: v1\nkind: Config\ncurrent-context: jane\nclusters:\n- name: c\n  cluster:\n    server: ${fx.cp.server}\n    certificate-authority-data: ${fx.cp.caData}\nusers:\n- name: jane\n  user:\n    token: ${idToken}\ncontexts:\n- name: jane\n  context:\n    cluster: c\n    user: jane\n`,
      { mode: 0o600 },
    );
    const token = await tokenFile(idToken, 'jane-self');
    const run = await runCli(applyArgs(token, '--kubeconfig', janeKubeconfig), env);
    expect(run.code).toBe(9);
    // apply reads what it owns in parallel, so whichever read the server refuses first is named
    expect(run.stderr).toMatch(/you may not (get|list) (serviceaccounts|roles|rolebindings|clusterroles|clusterrolebindings)\b/);
    expect(run.stderr).not.toContain(idToken);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: you may not /);
  });

  it('--all-clusters: every catalog cluster through its own context, three at once on one API server (their creates race and converge); a cluster without a context fails alone', async () => {
    // east, west and north are three kubeconfig clusters (and contexts) on this one API server,
    // with the admin's credentials; south is in the catalog but has no context
    const admin = parseYaml(await readFile(fx.cp.adminKubeconfig, 'utf8')) as { users: { name: string; user: Record<string, unknown> }[] };
    const fleet = ['east', 'west', 'north'];
    const fleetKubeconfig = join(dir, 'fleet-kubeconfig');
    await writeFleetKubeconfig(fleetKubeconfig, {
      cluster: { server: fx.cp.server, 'certificate-authority-data': fx.cp.caData },
      user: admin.users[0]?.user,
      clusters: fleet,
      contexts: Object.fromEntries(fleet.map((name) => [name, name])),
      current: 'east',
    });
    const entry = { server: fx.cp.server, 'issuer-url': fx.provider.issuer, 'client-id': fx.provider.clientId, 'idp-certificate-authority-data': Buffer.from(fx.provider.caPem).toString('base64') };
    const catalogFile = join(dir, 'fleet-catalog.yaml');
    await writeFile(catalogFile, stringifyYaml({ clusters: Object.fromEntries([...fleet, 'south'].map((name) => [name, entry])) }));
    const token = await tokenFile(await fx.provider.mintIdToken({ email: 'fleet@example.com', emailVerified: true, groups: ['developers', 'readers'] }), 'fleet');
    const args = ['rbac', 'apply', '--all-clusters', '--parallel', '3', '--id-token', token, '--catalog', catalogFile, '--kubeconfig', fleetKubeconfig, '--mapping', mappingFile, '-o', 'json'];
    const run = await runCli(args, env);
    // south has no context: exit 2 for it, one line naming it; the three others are applied
    expect(run.code, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('error: '))).toEqual([
      expect.stringMatching(/^error: south: cluster south has no context in the kubeconfig: add one/),
      expect.stringMatching(/^error: rbac apply --all-clusters: 3 of 4 clusters done; failed: south$/),
    ]);
    const out = JSON.parse(run.stdout) as { clusters: { cluster: string; context?: string; ok: boolean; result?: ApplyJson }[] };
    expect(out.clusters.map((c) => `${c.cluster} ${c.context ?? '-'} ${c.ok}`)).toEqual(['east east true', 'north north true', 'south - false', 'west west true']);
    // all three applies meant the same objects: together they created each one once
    const applied = out.clusters.filter((c) => c.ok).map((c) => c.result as ApplyJson);
    for (const r of applied) expect(r.serviceAccount.name).toBe('fleet-example-com');
    const created = applied.reduce((n, r) => n + r.writes, 0);
    expect(created).toBeGreaterThanOrEqual(applied[0]?.plan.length ?? 0);
    // every object any of them planned exists on the server
    const planned = new Map(applied.flatMap((r) => r.plan).map((p) => [`${p.kind}/${p.namespace ?? ''}/${p.name}`, p]));
    expect([...planned.values()].map((p) => p.kind).sort()).toEqual(expect.arrayContaining(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'ServiceAccount']));
    const paths: Record<string, string> = { ServiceAccount: 'api/v1', ClusterRole: 'apis/rbac.authorization.k8s.io/v1', ClusterRoleBinding: 'apis/rbac.authorization.k8s.io/v1', Role: 'apis/rbac.authorization.k8s.io/v1', RoleBinding: 'apis/rbac.authorization.k8s.io/v1' };
    for (const p of planned.values()) {
      const plural = `${p.kind.toLowerCase()}s`;
      const path = `/${paths[p.kind]}/${p.namespace ? `namespaces/${p.namespace}/` : ''}${plural}/${p.name}`;
      const res = await apiRequest(fx.cp, { path, auth: fx.cp.adminAuth });
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
    // converged: a second run changes nothing anywhere (south still fails alone)
    const again = await runCli(args, env);
    expect(again.code).toBe(2);
    const second = JSON.parse(again.stdout) as { clusters: { ok: boolean; result?: ApplyJson }[] };
    expect(second.clusters.filter((c) => c.ok).map((c) => [c.result?.plan.length, c.result?.api.writes])).toEqual([[0, 0], [0, 0], [0, 0]]);
  });
});
