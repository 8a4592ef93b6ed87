// How `k8s-auth rbac plan|apply` chooses what verifies the ID token, as a user runs it (dist
// build) against the test provider and the Kubernetes API double: a catalog entry named with
// --cluster (issuer, client id and CA from the catalog), an unknown entry, an entry whose client
// id is not the token's audience (and --audience to accept it).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { cleanEnv, cliEntry, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('error:'));
}

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first'))('rbac plan/apply: what verifies the token', () => {
  let provider: TestProvider;
  let double: KubeApiDouble;
  let dir: string;
  let catalog: string;
  let tokenFile: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [provider, double] = await Promise.all([startTestProvider(), startKubeApiDouble()]);
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-rbac-verify-'));
    const idpCa = Buffer.from(provider.caPem).toString('base64');
    const apiCa = Buffer.from(double.ca.certPem).toString('base64');
    catalog = join(dir, 'clusters.yaml');
    await writeFile(
      catalog,
      [
        'clusters:',
        '  prod:',
        `    server: ${double.url}`,
        `    certificate-authority-data: ${apiCa}`,
        `    issuer-url: ${provider.issuer}`,
        `    client-id: ${provider.clientId}`,
        `    idp-certificate-authority-data: ${idpCa}`,
        '  other-client:',
        `    server: ${double.url}`,
        `    issuer-url: ${provider.issuer}`,
        '    client-id: kubernetes-other',
        `    idp-certificate-authority-data: ${idpCa}`,
        '',
      ].join('\n'),
    );
    const mapping = join(dir, 'mapping.yaml');
    await writeFile(mapping, 'groups:\n  developers:\n    clusterRole: edit\n    namespaces: [team-a]\n');
    double.seed('namespaces', { metadata: { name: 'team-a' } });
    for (const role of ['edit', 'view']) double.seed('clusterroles', { metadata: { name: role }, rules: [] });
    tokenFile = join(dir, 'jane.jwt');
    await writeFile(tokenFile, await provider.mintIdToken({ email: 'jane@example.com' }));
    env = cleanEnv({ HOME: dir, KUBECONFIG: double.kubeconfigPath, K8S_AUTH_RBAC_MAPPING: mapping, KUBECACHEDIR: join(dir, 'kube-cache') });
  });
  afterAll(async () => {
    await Promise.all([provider?.close(), double?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    double.clearFaults();
    double.resetRecords();
  });

  it('--cluster prod takes issuer, client id and CA from the catalog entry, verifies the token and plans', async () => {
    const run = await runCli(['rbac', 'plan', '--id-token', tokenFile, 'prod', '--catalog', catalog], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe(`verified jane@example.com (issuer ${provider.issuer}) from ${tokenFile}\n`);
    expect(run.stdout.split('\n')[0]).toBe('ServiceAccount default/jane-example-com for jane@example.com; groups granted: developers; context double');
    expect(run.stdout).toContain('  + create RoleBinding team-a/k8s-auth:default:jane-example-com:edit');
    expect(run.stdout).toMatch(/\(dry run: nothing changed\)\n$/);
    expect(double.requests.length).toBeGreaterThan(0); // it read the cluster to plan
    expect(double.writes()).toEqual([]);

    // apply with the same choice writes what the plan said
    const creates = run.stdout.split('\n').filter((l) => l.startsWith('  + create ')).length;
    expect(creates).toBe(4); // ServiceAccount, token Role and RoleBinding, the edit RoleBinding in team-a
    const apply = await runCli(['rbac', 'apply', '--id-token', tokenFile, 'prod', '--catalog', catalog, '-o', 'json'], env);
    expect(apply.code, apply.stderr).toBe(0);
    expect((JSON.parse(apply.stdout) as { writes: number }).writes).toBe(creates);
    expect(double.writes()).toHaveLength(creates);
    expect(double.get('serviceaccounts', 'jane-example-com', 'default')).toBeDefined();
  });

  it('an unknown --cluster exits 3 with one line, and calls nothing', async () => {
    const run = await runCli(['rbac', 'plan', '--id-token', tokenFile, 'nope', '--catalog', catalog], env);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: .*'nope'.*/);
    expect(lines[0]).toContain(catalog);
    expect(double.requests).toEqual([]);
  });

  it("an entry whose client id is not the token's audience exits 5 naming it; --audience with the token's aud passes", async () => {
    const refused = await runCli(['rbac', 'plan', '--id-token', tokenFile, 'other-client', '--catalog', catalog], env);
    expect(refused.code).toBe(5);
    expect(refused.stdout).toBe('');
    const lines = errorLines(refused.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("audience 'k8s-auth'");
    expect(lines[0]).toContain("'kubernetes-other'");
    expect(double.requests).toEqual([]);

    const accepted = await runCli(['rbac', 'plan', '--id-token', tokenFile, 'other-client', '--catalog', catalog, '--audience', 'k8s-auth'], env);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stderr).toContain('verified jane@example.com');
    expect(accepted.stdout.split('\n')[0]).toMatch(/^ServiceAccount default\/jane-example-com for jane@example\.com; groups granted: developers;/);
  });

  it('without --id-token, uses the ID token an exec-plugin login (`login --exec`) left in the token cache', async () => {
    const kubeconfig = join(dir, 'exec-kubeconfig');
    const login = await runCli(
      ['login', 'prod', '--exec', '--exec-command', cliEntry, '--grant', 'password', '--username', 'jane@example.com', '--catalog', catalog, '--kubeconfig', kubeconfig],
      { ...env, K8S_AUTH_PASSWORD: 'jane-password' },
    );
    expect(login.code, login.stderr).toBe(0);
    const config = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { exec?: { args: string[] } } }[] };
    expect(config.users[0]?.user.exec?.args.slice(0, 2)).toEqual(['credential', 'prod']);
    // the cache the login filled (KUBECACHEDIR/k8s-auth) holds the signed-in ID token
    const cacheDir = join(dir, 'kube-cache', 'k8s-auth');
    const cached = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
    expect(cached).toHaveLength(1);
    const idToken = (JSON.parse(readFileSync(join(cacheDir, cached[0] as string), 'utf8')) as { idToken: string }).idToken;
    // the API double knows the plugin's bearer (that ID token) as jane
    double.addUser(idToken, 'jane@example.com');

    const run = await runCli(['rbac', 'plan', '--kubeconfig', kubeconfig, '--catalog', catalog], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe(`verified jane@example.com (issuer ${provider.issuer}) from kubeconfig context prod\n`);
    expect(run.stdout.split('\n')[0]).toBe('ServiceAccount default/jane-example-com for jane@example.com; groups granted: developers; context prod');
    // the plan was read from the cluster with jane's own credentials (the exec plugin's token)
    expect(double.requests.length).toBeGreaterThan(0);
    expect(new Set(double.requests.map((r) => r.user))).toEqual(new Set(['jane@example.com']));
    expect(double.writes()).toEqual([]);
  });
});
