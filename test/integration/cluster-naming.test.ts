// One way to name a cluster (issue 17, point 4): the catalog cluster as the positional and
// --context for a kubeconfig context on logout, whoami, token, rbac, doctor, login and credential, a lone context name resolved
// to its cluster with the line "<context> is a context of cluster <cluster>", an ambiguous name
// refused (exit 2), and the old `token --cluster` still working with one deprecation line.
// Everything here is decided from the kubeconfig before any request.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/run-cli.js';

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
}

describe('naming a cluster: positional cluster, --context, a context name resolved', () => {
  let dir: string;
  let kubeconfig: string;
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const labToken = unsignedJwt({ iss: 'https://127.0.0.1:9/lab', sub: 'jane-lab', email: 'jane@lab.example', exp });
  const prodToken = unsignedJwt({ iss: 'https://127.0.0.1:9/prod', sub: 'jane-prod', email: 'jane@prod.example', exp });

  const oidcUser = (name: string, idToken: string, issuer: string) => [
    `- name: ${name}`,
    '  user:',
    '    auth-provider:',
    '      name: oidc',
    '      config:',
    `        idp-issuer-url: ${issuer}`,
    '        client-id: k8s-auth',
    `        id-token: ${idToken}`,
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-naming-'));
    kubeconfig = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: prod',
        'clusters:',
        '- name: lab',
        '  cluster: {server: "https://127.0.0.1:9"}',
        '- name: prod',
        '  cluster: {server: "https://127.0.0.1:10"}',
        '- name: edge',
        '  cluster: {server: "https://127.0.0.1:11"}',
        'contexts:',
        '- name: lab-ctx',
        '  context: {cluster: lab, user: jane@lab}',
        '- name: prod',
        '  context: {cluster: prod, user: jane@prod}',
        '- name: edge', // a context named like a cluster, of another cluster
        '  context: {cluster: prod, user: jane@prod}',
        'users:',
        ...oidcUser('jane@lab', labToken, 'https://127.0.0.1:9/lab'),
        ...oidcUser('jane@prod', prodToken, 'https://127.0.0.1:9/prod'),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (args: string[]) => runCli([...args, '--kubeconfig', kubeconfig], cleanEnv({ HOME: dir }));
  const whoamiJson = async (args: string[]) => {
    const result = await run(['whoami', ...args, '-o', 'json']);
    expect(result.code, result.stderr).toBe(0);
    return { data: JSON.parse(result.stdout) as { context: string; cluster: string; email: string }, stderr: result.stderr };
  };

  it('whoami: the cluster positional picks its context; --context and a lone context name give the same, the latter with the note', async () => {
    const byCluster = await whoamiJson(['lab']);
    expect(byCluster.data).toMatchObject({ context: 'lab-ctx', cluster: 'lab', email: 'jane@lab.example' });
    expect(byCluster.stderr).toBe('');
    const byFlag = await whoamiJson(['--context', 'lab-ctx']);
    expect(byFlag.data).toMatchObject({ context: 'lab-ctx', cluster: 'lab' });
    expect(byFlag.stderr).toBe('');
    const byContextName = await whoamiJson(['lab-ctx']);
    expect(byContextName.data).toMatchObject({ context: 'lab-ctx', cluster: 'lab', email: 'jane@lab.example' });
    expect(byContextName.stderr).toBe('lab-ctx is a context of cluster lab: using cluster lab (next time: `lab --context lab-ctx`)\n');
    // a cluster with two contexts: the current one when it is the cluster's
    expect((await whoamiJson(['prod'])).data).toMatchObject({ context: 'prod', cluster: 'prod' });
    expect((await whoamiJson(['--context', 'edge'])).data).toMatchObject({ context: 'edge', cluster: 'prod' });
    // no name: still the current context
    expect((await whoamiJson([])).data).toMatchObject({ context: 'prod', cluster: 'prod', email: 'jane@prod.example' });
  });

  it('whoami: a context of another cluster, and a name that is both a cluster and a context, are refused in one line (exit 2)', async () => {
    const mismatch = await run(['whoami', 'prod', '--context', 'lab-ctx']);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toBe('error: lab-ctx is a context of cluster lab, not of cluster prod: name cluster lab, or drop --context\n');
    const ambiguous = await run(['whoami', 'edge']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toBe("error: 'edge' is ambiguous: it is cluster edge, and edge is a context of cluster prod: for the context write `prod --context edge`\n");
    expect(ambiguous.stdout).toBe('');
  });

  it('token: the cluster positional, --context and a lone context name all mint through lab-ctx; `--cluster` still works with one deprecation line', async () => {
    // the ID tokens carry no 'preferred' claim: token stops before any request, naming the context it chose
    const tokenRun = (args: string[]) => run(['token', ...args, '--ttl', '1h', '-o', 'json', '--username-claim', 'upn']);
    for (const args of [['lab'], ['--context', 'lab-ctx'], ['lab-ctx'], ['--cluster', 'lab-ctx']]) {
      const result = await tokenRun(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^error: cannot tell whose ServiceAccount to use from context lab-ctx \(/m);
      expect(result.stdout).toBe('');
    }
    const deprecated = await tokenRun(['--cluster', 'lab-ctx']);
    const lines = deprecated.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('warning: token --cluster is deprecated: write `k8s-auth token lab-ctx` (a cluster) or `--context lab-ctx` (a kubeconfig context)');
    expect(lines[1]).toBe('lab-ctx is a context of cluster lab: using cluster lab (next time: `lab --context lab-ctx`)');
    expect(lines).toHaveLength(3);
    const both = await tokenRun(['prod', '--cluster', 'lab']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('error: --cluster lab and the cluster prod both name the cluster: drop --cluster (deprecated)\n');
    // the default is still the current context
    expect((await tokenRun([])).stderr).toMatch(/from context prod \(/);
  });

  it('rbac list: the cluster positional and a lone context name talk through lab-ctx (lab\'s server), the default through the current context', async () => {
    const list = (args: string[]) => run(['rbac', 'list', ...args, '--http-timeout', '5']);
    const byContextName = await list(['lab-ctx']);
    expect(byContextName.stderr.split('\n')[0]).toBe('lab-ctx is a context of cluster lab: using cluster lab (next time: `lab --context lab-ctx`)');
    expect(byContextName.stderr).toContain('https://127.0.0.1:9 ');
    const byCluster = await list(['lab']);
    expect(byCluster.stderr).toContain('https://127.0.0.1:9 ');
    expect(byCluster.stderr).not.toContain('is a context of');
    expect((await list([])).stderr).toContain('https://127.0.0.1:10 ');
  });

  it('rbac plan: the catalog cluster as the positional; `--cluster` still works with one deprecation line naming the new spelling', async () => {
    const catalog = join(dir, 'clusters.yaml');
    await writeFile(catalog, 'clusters:\n  prod:\n    server: https://127.0.0.1:10\n    issuer-url: https://127.0.0.1:10/dex\n    client-id: k8s-auth\n');
    const tokenFile = join(dir, 'id-token');
    await writeFile(tokenFile, labToken);
    const plan = (args: string[]) => run(['rbac', 'plan', ...args, '--catalog', catalog, '--id-token', tokenFile]);
    const positional = await plan(['nope']);
    expect(positional.code).toBe(3);
    expect(positional.stderr).toBe(`error: cluster 'nope' not found in ${catalog} (known: prod)\n`);
    const deprecated = await plan(['--cluster', 'nope']);
    expect(deprecated.code).toBe(3);
    expect(deprecated.stderr).toBe(`warning: rbac plan --cluster is deprecated: write \`k8s-auth rbac plan nope\`\n${positional.stderr}`);
    const contextName = await plan(['lab-ctx']);
    expect(contextName.stderr).toBe(`lab-ctx is a context of cluster lab: using cluster lab (next time: \`lab --context lab-ctx\`)\nerror: cluster 'lab' not found in ${catalog} (known: prod)\n`);
  });

  it('doctor: a lone context name checks the cluster it belongs to and says so', async () => {
    const doctor = await run(['doctor', 'lab-ctx', '--http-timeout', '2', '-o', 'json']);
    expect(doctor.stderr.split('\n')[0]).toBe('lab-ctx is a context of cluster lab: using cluster lab (next time: `lab --context lab-ctx`)');
    expect((JSON.parse(doctor.stdout) as { cluster: string }).cluster).toBe('lab');
    const byCluster = await run(['doctor', 'lab', '--http-timeout', '2', '-o', 'json']);
    expect(byCluster.stderr).not.toContain('is a context of');
    expect((JSON.parse(byCluster.stdout) as { cluster: string }).cluster).toBe('lab');
  });

  it('login: a catalog cluster stays the cluster; a name the catalog lacks that is a context signs in to its cluster, says so, and keeps that context', async () => {
    const catalog = join(dir, 'login-catalog.yaml');
    // port 9 refuses at once: each login stops at discovery, after the name was decided
    await writeFile(catalog, 'clusters:\n  lab:\n    server: https://127.0.0.1:9\n    issuer-url: https://127.0.0.1:9/lab\n    client-id: k8s-auth\n  edge:\n    server: https://127.0.0.1:11\n    issuer-url: https://127.0.0.1:9/edge\n    client-id: k8s-auth\n');
    const login = (name: string) => run(['login', name, '--catalog', catalog, '--no-browser', '--http-timeout', '2']);
    const byContext = await login('lab-ctx');
    expect(byContext.stderr.split('\n')[0]).toBe('lab-ctx is a context of cluster lab: signing in to cluster lab and refreshing context lab-ctx (next time: `k8s-auth login lab`)');
    expect(byContext.stderr).toContain('https://127.0.0.1:9/lab');
    expect(byContext.code).not.toBe(0);
    // `edge` is a context of prod too, but the catalog has cluster edge: no note, edge's issuer
    const byCluster = await login('edge');
    expect(byCluster.stderr).not.toContain('is a context of');
    expect(byCluster.stderr).toContain('https://127.0.0.1:9/edge');
    // neither in the catalog nor a context: the catalog's own answer, unchanged
    const unknown = await login('nope');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toBe(`error: cluster 'nope' not found in ${catalog} (known: edge, lab)\n`);
    // `prod` is a context whose cluster the catalog lacks: the catalog's answer for the name typed
    const contextOfUnknown = await run(['login', 'prod', '--catalog', catalog]);
    expect(contextOfUnknown.stderr).toBe(`error: cluster 'prod' not found in ${catalog} (known: edge, lab)\n`);
  });

  it('credential typed by hand: a context name resolves to its cluster (kubectl\'s runs, with identity args, are taken as written)', async () => {
    const catalog = join(dir, 'credential-catalog.yaml');
    await writeFile(catalog, 'clusters:\n  lab:\n    server: https://127.0.0.1:9\n    issuer-url: https://127.0.0.1:9/lab\n    client-id: k8s-auth\n');
    const cacheDir = join(dir, 'empty-cache');
    const env = cleanEnv({ HOME: dir, KUBECONFIG: kubeconfig });
    const typed = await runCli(['credential', 'lab-ctx', '--catalog', catalog, '--token-cache-dir', cacheDir, '--no-interactive'], env);
    const lines = typed.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('lab-ctx is a context of cluster lab: using cluster lab (next time: `lab`)');
    expect(typed.code).toBe(10);
    expect(typed.stderr).toMatch(/^error: 'lab' needs a new sign-in: /m);
    expect(typed.stdout).toBe('');
    // the identity args are kubectl's: the name is the cluster login wrote, never re-read as a context
    const asKubectl = await runCli(['credential', 'lab-ctx', '--issuer', 'https://127.0.0.1:9/lab', '--client-id', 'k8s-auth', '--scopes', 'openid', '--token-cache-dir', cacheDir, '--no-interactive'], env);
    expect(asKubectl.stderr).not.toContain('is a context of');
    expect(asKubectl.stderr).toMatch(/^error: 'lab-ctx' needs a new sign-in: /m);
    expect(asKubectl.code).toBe(10);
  });

  it('logout: a lone context name logs out of its cluster and says so; --context does the same; a cluster name is unchanged', async () => {
    const copy = async (name: string) => {
      const path = join(dir, name);
      await writeFile(path, await readFile(kubeconfig, 'utf8'), { mode: 0o600 });
      return path;
    };
    const logout = (path: string, args: string[]) => runCli(['logout', ...args, '--kubeconfig', path], cleanEnv({ HOME: dir }));
    for (const args of [['lab-ctx'], ['--context', 'lab-ctx'], ['lab']]) {
      const path = await copy(`kc-logout-${args.join('-')}`);
      const result = await logout(path, args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toMatch(/^Logged out of lab: removed the tokens of jane@lab/m);
      if (args[0] === 'lab-ctx') expect(result.stderr.split('\n')[0]).toBe('lab-ctx is a context of cluster lab: using cluster lab (next time: `lab --context lab-ctx`)');
      else expect(result.stderr).not.toContain('is a context of');
      const after = await readFile(path, 'utf8');
      expect(after).not.toContain(labToken);
      expect(after).toContain(prodToken);
    }
    const none = await logout(await copy('kc-logout-none'), []);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('error: name the cluster to log out of: `k8s-auth logout CLUSTER` (or `--context NAME`)\n');
  });
});
