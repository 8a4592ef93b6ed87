// K8S_AUTH_OUTPUT by one rule on every data command (docs/output.md): it sets the default
// format where the command has that format, is ignored where it does not, and an -o value the
// command does not have stays a usage error (exit 2).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { cleanEnv, runCli } from '../support/run-cli.js';

let api: KubeApiDouble;
let dir: TempDir;
let catalog: string;

beforeAll(async () => {
  api = await startKubeApiDouble();
  api.seed('namespaces', { metadata: { name: 'ci' } });
  api.seed('serviceaccounts', { metadata: { name: 'deployer', namespace: 'ci' } });
  dir = tempDir('k8s-auth-output-env-');
  catalog = writeCatalog(dir.file('catalog.yaml'), {
    prod: { server: 'https://127.0.0.1:6443', 'issuer-url': 'https://127.0.0.1:9/dex', 'client-id': 'k8s-auth' },
    staging: { server: 'https://127.0.0.1:6444', 'issuer-url': 'https://127.0.0.1:9/dex', 'client-id': 'k8s-auth' },
  });
});
afterAll(async () => {
  await api?.close();
  dir?.remove();
});

const env = (output: string | undefined) => cleanEnv({ HOME: dir.path, KUBECONFIG: api.kubeconfigPath, K8S_AUTH_CATALOG: catalog, K8S_AUTH_OUTPUT: output });
const token = ['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h'];

describe('K8S_AUTH_OUTPUT', () => {
  it('clusters: json from the environment; -o overrides it', async () => {
    const fromEnv = await runCli(['clusters'], env('json'));
    expect(fromEnv.code, fromEnv.stderr).toBe(0);
    expect(JSON.parse(fromEnv.stdout)).toEqual({ source: catalog, clusters: ['prod', 'staging'] });
    const flag = await runCli(['clusters', '-o', 'text'], env('json'));
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.stdout).toBe('prod\nstaging\n');
  });

  it('clusters: a value it does not have (exec-credential) is ignored, not an error', async () => {
    const run = await runCli(['clusters'], env('exec-credential'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('prod\nstaging\n');
    expect(run.stderr).toBe('');
  });

  it('whoami: json from the environment, text when the value is not one of its formats', async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const idToken = `${part({ alg: 'RS256' })}.${part({ iss: 'https://127.0.0.1:9/dex', sub: 's', email: 'jane@example.com', groups: ['developers'], exp: Math.floor(Date.now() / 1000) + 3600 })}.c2ln`;
    const kubeconfig = dir.file('whoami-kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: prod',
        'clusters:',
        '- {name: prod, cluster: {server: "https://127.0.0.1:6443"}}',
        'users:',
        `- {name: jane@prod, user: {auth-provider: {name: oidc, config: {client-id: k8s-auth, idp-issuer-url: "https://127.0.0.1:9/dex", id-token: ${idToken}}}}}`,
        'contexts:',
        '- {name: prod, context: {cluster: prod, user: jane@prod}}',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const json = await runCli(['whoami', '--kubeconfig', kubeconfig], env('json'));
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ context: 'prod', email: 'jane@example.com', groups: ['developers'] });
    const text = await runCli(['whoami', '--kubeconfig', kubeconfig], env('exec-credential'));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^context:\s+prod$/m);
    expect(text.stdout).not.toContain(idToken);
  });

  it('rbac list: yaml from the environment', async () => {
    const run = await runCli(['rbac', 'list'], env('yaml'));
    expect(run.code, run.stderr).toBe(0);
    expect(parseYaml(run.stdout)).toEqual([]);
  });

  it('doctor: a value it does not have (kubeconfig) is ignored: text report, not a usage error', async () => {
    const run = await runCli(['doctor', 'prod', '--http-timeout', '2'], env('kubeconfig'), { timeoutMs: 30_000 });
    expect(run.code, run.stderr).not.toBe(2);
    expect(run.stdout.trimStart().startsWith('{')).toBe(false);
    expect(run.stdout).toMatch(/catalog/);
  });

  it('token: yaml from the environment (the JSON fields); text, which token does not have, is ignored', async () => {
    const yaml = await runCli(token, env('yaml'));
    expect(yaml.code, yaml.stderr).toBe(0);
    const record = parseYaml(yaml.stdout) as Record<string, unknown>;
    expect(Object.keys(record).sort()).toEqual(['cluster', 'expirationTimestamp', 'namespace', 'serviceAccount', 'token']);
    expect(record).toMatchObject({ serviceAccount: 'deployer', namespace: 'ci', cluster: 'double' });
    const ignored = await runCli(token, env('text'));
    expect(ignored.code, ignored.stderr).toBe(0);
    expect(ignored.stdout).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('token -o yaml prints the same fields as -o json', async () => {
    const [yaml, json] = [await runCli([...token, '-o', 'yaml'], env(undefined)), await runCli([...token, '-o', 'json'], env(undefined))];
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(json.code, json.stderr).toBe(0);
    expect(Object.keys(parseYaml(yaml.stdout) as object).sort()).toEqual(Object.keys(JSON.parse(json.stdout) as object).sort());
  });

  it('an -o value the command does not have is still a usage error (exit 2), whatever the environment says', async () => {
    for (const args of [['clusters', '-o', 'exec-credential'], ['rbac', 'list', '-o', 'token'], [...token, '-o', 'text'], ['doctor', '-o', 'kubeconfig']]) {
      const run = await runCli(args, env('json'));
      expect(run.code, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(/argument '\w[\w-]*' is invalid/);
      expect(run.stdout).toBe('');
    }
  });
});
