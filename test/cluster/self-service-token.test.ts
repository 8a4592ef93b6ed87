// The promise `k8s-auth login prod && k8s-auth token --ttl 12h` for an ordinary user, against a
// real kube-apiserver 1.20 whose OIDC authenticator trusts the test provider (email claim, no
// username prefix: the apiserver's defaults). The admin runs `k8s-auth rbac apply` once with
// jane's ID token; after that jane, with nothing but her OIDC login in her kubeconfig (the
// auth-provider user `k8s-auth login` writes), mints a token for her own ServiceAccount, and
// that token has exactly what the mapping grants. She may not mint for anyone else; the right is
// gone after `rbac revoke`; and a usernamePrefix that does not match the apiserver's grants
// nothing until it is corrected.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { cleanEnv, runCli, type CliRun } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';
import { apiRequest, createNamespaces, selfSubjectAccessReview, type AccessCheck, type ApiAuth } from './api-client.js';
import { startClusterFixture, type ClusterFixture } from './fixture.js';
import { clusterTierSkip } from './tier.js';

const skipTier = clusterTierSkip();
const SA = 'jane-example-com';
const MAPPING = 'serviceAccountNamespace: default\ngroups:\n  developers:\n    clusterRole: view\n    namespaces: [team-a]\n';
const FORBIDDEN_OTHER =
  "error: you may not mint tokens for ServiceAccount default/deployer on cluster prod (403 Forbidden): ask a cluster admin for 'create' on serviceaccounts/token in default, or mint through Vault with --via-vault ROLE\n";
const FORBIDDEN_OWN =
  "error: you may not mint tokens for ServiceAccount default/jane-example-com on cluster prod (403 Forbidden): ask a cluster admin for 'create' on serviceaccounts/token in default, or mint through Vault with --via-vault ROLE\n";

interface MintJson {
  token: string;
  expirationTimestamp: string;
  serviceAccount: string;
  namespace: string;
  cluster: string;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe.skipIf(skipTier || !existsSync(join(repoRoot, 'dist', 'cli.js')))('self-service tokens: rbac apply, then the user mints for their own ServiceAccount', () => {
  let fx: ClusterFixture;
  let dir: string;
  let adminEnv: NodeJS.ProcessEnv;
  let janeEnv: NodeJS.ProcessEnv;
  let idTokenFile: string;
  let idpCaFile: string;
  let mappingFile: string;

  const apply = (...extra: string[]): Promise<CliRun> =>
    runCli(['rbac', 'apply', '--id-token', idTokenFile, '--issuer-url', fx.provider.issuer, '--client-id', fx.provider.clientId, '--idp-ca-file', idpCaFile, '--mapping', mappingFile, '-o', 'json', ...extra], adminEnv);
  const janeToken = (...args: string[]): Promise<CliRun> => runCli(['token', ...args], janeEnv);

  beforeAll(async () => {
    fx = await startClusterFixture();
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-self-service-'));
    adminEnv = cleanEnv({ HOME: join(dir, 'admin'), KUBECONFIG: fx.cp.adminKubeconfig });
    await createNamespaces(fx.cp, fx.cp.adminAuth, ['team-a', 'team-b']);
    // another ServiceAccount in the same namespace, which jane must not be able to mint for
    const other = await apiRequest(fx.cp, { method: 'POST', path: '/api/v1/namespaces/default/serviceaccounts', auth: fx.cp.adminAuth, body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } } });
    expect(other.status).toBe(201);

    const idToken = await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'], expiresInSeconds: 1800 });
    idTokenFile = join(dir, 'jane.id-token');
    idpCaFile = join(dir, 'idp-ca.pem');
    mappingFile = join(dir, 'mapping.yaml');
    await Promise.all([writeFile(idTokenFile, idToken, { mode: 0o600 }), writeFile(idpCaFile, fx.provider.caPem), writeFile(mappingFile, MAPPING)]);

    // jane's kubeconfig as `k8s-auth login prod` writes it: an auth-provider oidc user holding her ID token
    const kubeconfig = join(dir, 'jane.kubeconfig');
    await writeFile(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'prod',
        clusters: [{ name: 'prod', cluster: { server: fx.cp.server, 'certificate-authority-data': fx.cp.caData } }],
        users: [
          {
            name: 'jane@example.com@prod',
            user: {
              'auth-provider': {
                name: 'oidc',
                config: {
                  'idp-issuer-url': fx.provider.issuer,
                  'client-id': fx.provider.clientId,
                  'idp-certificate-authority-data': Buffer.from(fx.provider.caPem).toString('base64'),
                  'id-token': idToken,
                },
              },
            },
          },
        ],
        contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'jane@example.com@prod' } }],
      }),
      { mode: 0o600 },
    );
    janeEnv = cleanEnv({ HOME: join(dir, 'jane'), KUBECONFIG: kubeconfig });
  }, 180_000);

  afterAll(async () => {
    await fx?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('before any apply, jane may not mint for herself: the one-line 403 (exit 9)', async () => {
    const run = await janeToken('--ttl', '1h', '-o', 'json');
    expect([run.code, run.stdout, run.stderr]).toEqual([9, '', FORBIDDEN_OWN]);
  });

  it('a usernamePrefix the apiserver does not use creates the binding, but it grants jane nothing', async () => {
    const run = await apply('--username-prefix', 'oidc:');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { selfServiceTokens: { user: string; role: string }; plan: { op: string; kind: string; name: string; namespace?: string }[] };
    expect(report.selfServiceTokens).toEqual({ user: 'oidc:jane@example.com', role: `default/k8s-auth-token:${SA}` });
    expect(report.plan.map((p) => `${p.op} ${p.kind} ${p.namespace ?? '-'}/${p.name}`)).toEqual([
      `create ServiceAccount default/${SA}`,
      `create Role default/k8s-auth-token:${SA}`,
      `create RoleBinding default/k8s-auth-token:${SA}`,
      `create RoleBinding team-a/k8s-auth:default:${SA}:view`,
    ]);
    const mint = await janeToken('--ttl', '1h', '-o', 'json');
    expect([mint.code, mint.stdout, mint.stderr]).toEqual([9, '', FORBIDDEN_OWN]);
  });

  it("the apiserver's own prefix (none, for the email claim) updates the subject in place, and only that", async () => {
    const run = await apply();
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { selfServiceTokens: { user: string }; plan: { op: string; kind: string; name: string; detail?: string }[]; writes: number };
    expect(report.selfServiceTokens.user).toBe('jane@example.com');
    expect(report.plan).toEqual([{ op: 'update', kind: 'RoleBinding', name: `k8s-auth-token:${SA}`, namespace: 'default', detail: 'subjects' }]);
    expect(report.writes).toBe(1);
    // the apiserver's authorizer agrees: jane may create a token for her ServiceAccount and no other
    const review = async (name: string) => {
      const res = await apiRequest(fx.cp, {
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        auth: fx.cp.adminAuth,
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: { user: 'jane@example.com', groups: ['developers', 'system:authenticated'], resourceAttributes: { verb: 'create', resource: 'serviceaccounts', subresource: 'token', name, namespace: 'default' } },
        },
      });
      expect(res.status).toBe(201);
      return (res.json as { status: { allowed: boolean } }).status.allowed;
    };
    expect([await review(SA), await review('deployer')]).toEqual([true, false]);
  });

  it('a second apply writes nothing', async () => {
    const run = await apply();
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { plan: unknown[]; api: { writes: number } };
    expect(report.plan).toEqual([]);
    expect(report.api.writes).toBe(0);
  });

  describe('jane, with only her OIDC login', () => {
    let minted: MintJson;
    let sa: ApiAuth;

    beforeAll(async () => {
      const run = await janeToken('--ttl', '1h', '-o', 'json');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      minted = JSON.parse(run.stdout) as MintJson;
      sa = { kind: 'bearer', token: minted.token };
    });

    it('`k8s-auth token --ttl 1h -o json` mints for jane-example-com with her own credentials', () => {
      expect(minted).toMatchObject({ serviceAccount: SA, namespace: 'default', cluster: 'prod' });
      const claims = claimsOf(minted.token);
      expect(claims['sub']).toBe(`system:serviceaccount:default:${SA}`);
      expect(claims['exp']).toBe(Date.parse(minted.expirationTimestamp) / 1000);
      expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(3600);
    });

    it('the token has exactly the mapped permissions (view in team-a), and not the right to mint', async () => {
      const granted: AccessCheck[] = [
        { verb: 'list', resource: 'pods', namespace: 'team-a' },
        { verb: 'get', resource: 'configmaps', namespace: 'team-a' },
        { verb: 'watch', resource: 'deployments', namespace: 'team-a', group: 'apps' },
      ];
      const denied: AccessCheck[] = [
        { verb: 'create', resource: 'pods', namespace: 'team-a' },
        { verb: 'delete', resource: 'configmaps', namespace: 'team-a' },
        { verb: 'get', resource: 'secrets', namespace: 'team-a' },
        { verb: 'list', resource: 'pods', namespace: 'team-b' },
        { verb: 'list', resource: 'pods', namespace: 'default' },
        { verb: 'list', resource: 'pods' },
        { verb: 'create', resource: 'roles', namespace: 'default', group: 'rbac.authorization.k8s.io' },
      ];
      for (const check of granted) expect({ check, answer: await selfSubjectAccessReview(fx.cp, sa, check) }).toEqual({ check, answer: { status: 201, allowed: true } });
      for (const check of denied) expect({ check, answer: await selfSubjectAccessReview(fx.cp, sa, check) }).toEqual({ check, answer: { status: 201, allowed: false } });
      const pods = await apiRequest(fx.cp, { path: '/api/v1/namespaces/team-a/pods', auth: sa });
      expect(pods.status).toBe(200);
      const elsewhere = await apiRequest(fx.cp, { path: '/api/v1/namespaces/team-b/pods', auth: sa });
      expect(elsewhere.status).toBe(403);
      // the right to mint is jane's (User), not her ServiceAccount's: its token cannot mint more
      const again = await apiRequest(fx.cp, {
        method: 'POST',
        path: `/api/v1/namespaces/default/serviceaccounts/${SA}/token`,
        auth: sa,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } },
      });
      expect(again.status).toBe(403);
    });

    it('jane herself (her ID token) holds only the right to mint, not the mapped roles', async () => {
      const idToken: ApiAuth = { kind: 'bearer', token: readFileSync(idTokenFile, 'utf8') };
      expect(await selfSubjectAccessReview(fx.cp, idToken, { verb: 'list', resource: 'pods', namespace: 'team-a' })).toEqual({ status: 201, allowed: false });
    });

    it('minting for another ServiceAccount is refused: the one-line 403 (exit 9)', async () => {
      const run = await janeToken('--service-account', 'deployer', '--ttl', '1h');
      expect([run.code, run.stdout, run.stderr]).toEqual([9, '', FORBIDDEN_OTHER]);
    });
  });

  it('after rbac revoke, jane can mint nothing, and the Role and RoleBinding are gone', async () => {
    const run = await runCli(['rbac', 'revoke', 'jane@example.com'], adminEnv);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`- delete Role default/k8s-auth-token:${SA}`);
    expect(run.stdout).toContain(`- delete RoleBinding default/k8s-auth-token:${SA}`);
    for (const path of [`/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/k8s-auth-token:${SA}`, `/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/k8s-auth-token:${SA}`]) {
      expect((await apiRequest(fx.cp, { path, auth: fx.cp.adminAuth })).status).toBe(404);
    }
    const mint = await janeToken('--ttl', '1h');
    expect([mint.code, mint.stdout, mint.stderr]).toEqual([9, '', FORBIDDEN_OWN]);
  });
});
