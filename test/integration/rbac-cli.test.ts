// The `k8s-auth rbac` command as a user runs it (dist build, child process) against the test
// provider and the Kubernetes API double: text output, exit codes, stdin tokens, the mapping
// from the environment, and one-line errors that leave the cluster untouched.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { writeFleetKubeconfig } from '../support/fleet-kubeconfig.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { cleanEnv, cliEntry, runCli, type CliRun } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

let provider: TestProvider;
let double: KubeApiDouble;
let dir: string;
let env: NodeJS.ProcessEnv;
let caFile: string;
let mappingFile: string;

function runWithStdin(args: readonly string[], stdin: string): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], { env, cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin.end(stdin);
  });
}

describe.skipIf(skipUnless(existsSync(join(repoRoot, 'dist', 'cli.js')), 'dist/ is not built: run `npm run build` first'))('k8s-auth rbac (CLI) against the API double', () => {
  const issuerArgs = () => ['--issuer-url', provider.issuer, '--client-id', provider.clientId, '--idp-ca-file', caFile];

  beforeAll(async () => {
    [provider, double] = await Promise.all([startTestProvider(), startKubeApiDouble()]);
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-rbac-cli-'));
    caFile = join(dir, 'ca.pem');
    await writeFile(caFile, provider.caPem);
    mappingFile = join(dir, 'mapping.yaml');
    await writeFile(mappingFile, 'groups:\n  developers:\n    clusterRole: edit\n    namespaces: [team-a]\n');
    double.seed('namespaces', { metadata: { name: 'team-a' } });
    for (const role of ['edit', 'view']) double.seed('clusterroles', { metadata: { name: role }, rules: [] });
    env = cleanEnv({ HOME: dir, KUBECONFIG: double.kubeconfigPath, K8S_AUTH_RBAC_MAPPING: mappingFile });
  });
  afterAll(async () => {
    await Promise.all([provider?.close(), double?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    double.clearFaults();
    double.resetRecords();
  });

  it('reads the token from stdin, the mapping from K8S_AUTH_RBAC_MAPPING, and prints the plan it applied', async () => {
    const token = await provider.mintIdToken({ email: 'jane@example.com', groups: ['developers', 'view', 'strangers'] });
    const run = await runWithStdin(['rbac', 'apply', '--id-token', '-', ...issuerArgs()], `${token}\n`);
    expect(run.stderr).toBe(`verified jane@example.com (issuer ${provider.issuer}) from stdin\ngroups without a rule (ignored): strangers\n`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        'ServiceAccount default/jane-example-com for jane@example.com; groups granted: developers, view; context double',
        '  + create ServiceAccount default/jane-example-com',
        '  + create Role default/k8s-auth-token:jane-example-com',
        '  + create ClusterRoleBinding k8s-auth:default:jane-example-com:view',
        '  + create RoleBinding default/k8s-auth-token:jane-example-com',
        '  + create RoleBinding team-a/k8s-auth:default:jane-example-com:edit',
        'done: 5 changes written',
        '',
      ].join('\n'),
    );
    expect(run.stdout).not.toContain(token);

    const again = await runWithStdin(['rbac', 'apply', '--id-token', '-', ...issuerArgs(), '-q'], token);
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.stdout.split('\n')[1]).toBe('up to date: nothing to change');
    expect(double.writes()).toHaveLength(5); // the first apply's; the second wrote nothing
  });

  it('refusals print the plan, change nothing and exit 9', async () => {
    double.seed('serviceaccounts', { metadata: { name: 'taken-example-com', namespace: 'default' } });
    const tokenFile = join(dir, 'taken');
    await writeFile(tokenFile, await provider.mintIdToken({ email: 'taken@example.com', sub: 'taken', emailVerified: true, groups: ['view'] }));
    const run = await runCli(['rbac', 'apply', '--id-token', tokenFile, ...issuerArgs()], env);
    expect(run.code).toBe(9);
    expect(run.stdout).toContain('  ! refuse ServiceAccount default/taken-example-com: ServiceAccount default/taken-example-com exists and is not managed by k8s-auth');
    expect(run.stdout).toContain('3 to create, 1 refused (nothing changed)');
    expect(run.stderr.trim().split('\n').pop()).toBe(
      'error: ServiceAccount default/taken-example-com exists and is not managed by k8s-auth: rename or remove it (k8s-auth does not adopt objects); nothing was changed',
    );
    expect(double.writes()).toEqual([]);
  });

  it.each([
    [['--mapping', 'MAPPING_BAD'], 2, "error: mapping MAPPING_BAD, group 'devs': unknown key 'clusterrole' (known: clusterRole, rules, namespaces)"],
    [['--issuer-url', 'https://127.0.0.1:1/dex'], 2, 'error: --issuer-url and --client-id go together: pass both, or name a catalog cluster (`rbac plan CLUSTER`)'],
    [['--id-token', '/nonexistent/token', '--issuer-url', 'https://127.0.0.1:1/dex', '--client-id', 'x'], 2, /^error: cannot read the ID token file \/nonexistent\/token: /],
    [['--issuer-url', 'notaurl', '--client-id', 'x'], 2, "error: --issuer-url 'notaurl' is not a URL: pass the issuer's https:// URL (the token's iss), e.g. https://dex.example.com/dex"],
    [['--issuer-url', 'http://dex.example.com/dex', '--client-id', 'x'], 2, "error: --issuer-url 'http://dex.example.com/dex' must be an https:// URL (plain http only for a provider on this machine): pass the issuer's https:// URL"],
    [['--issuer-url', 'https://127.0.0.1:1/dex', '--client-id', ''], 2, 'error: --client-id is empty: pass the client id the ID token was issued to (its aud)'],
  ] as [string[], number, string | RegExp][])('bad input %j is one line, exit %i, and no API request', async (args, code, message) => {
    const bad = join(dir, 'bad-mapping.yaml');
    await writeFile(bad, 'groups:\n  devs:\n    clusterrole: view\n');
    const tokenFile = join(dir, 'ok-token');
    await writeFile(tokenFile, await provider.mintIdToken({ email: 'jane@example.com' }));
    const argv = ['rbac', 'apply', ...(args.includes('--id-token') ? [] : ['--id-token', tokenFile]), ...args.map((a) => (a === 'MAPPING_BAD' ? bad : a))];
    const run = await runCli(argv, env);
    expect(run.code).toBe(code);
    const expected = typeof message === 'string' ? message.replace('MAPPING_BAD', bad) : message;
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    if (typeof expected === 'string') expect(lines[0]).toBe(expected);
    else expect(lines[0]).toMatch(expected);
    expect(double.requests).toEqual([]);
  });

  it('K8S_AUTH_CLUSTER (deprecated; perhaps meant for token) with --issuer-url: a deprecation line, then the conflict naming the variable, exit 2, no request', async () => {
    const tokenFile = join(dir, 'env-conflict-token');
    await writeFile(tokenFile, await provider.mintIdToken({ email: 'jane@example.com' }));
    const run = await runCli(['rbac', 'apply', '--id-token', tokenFile, '--issuer-url', 'https://127.0.0.1:1/dex', '--client-id', 'x'], { ...env, K8S_AUTH_CLUSTER: 'prod' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'warning: K8S_AUTH_CLUSTER is deprecated: for rbac apply it names a catalog entry; set K8S_AUTH_CATALOG_ENTRY instead\n' +
        'error: --cluster (from K8S_AUTH_CLUSTER) and --issuer-url/--client-id both name the issuer: use one (unset K8S_AUTH_CLUSTER if it was meant for another command)\n',
    );
    const renamed = await runCli(['rbac', 'apply', '--id-token', tokenFile, '--issuer-url', 'https://127.0.0.1:1/dex', '--client-id', 'x'], { ...env, K8S_AUTH_CATALOG_ENTRY: 'prod' });
    expect(renamed.code).toBe(2);
    expect(renamed.stderr).toBe('error: --cluster (from K8S_AUTH_CATALOG_ENTRY) and --issuer-url/--client-id both name the issuer: use one (unset K8S_AUTH_CATALOG_ENTRY if it was meant for another command)\n');
    const flags = await runCli(['rbac', 'apply', 'prod', '--id-token', tokenFile, '--client-id', 'x'], { ...env, K8S_AUTH_ISSUER_URL: 'https://127.0.0.1:1/dex' });
    expect(flags.stderr).toBe('error: --cluster and --issuer-url (from K8S_AUTH_ISSUER_URL)/--client-id both name the issuer: use one (unset K8S_AUTH_ISSUER_URL if it was meant for another command)\n');
    expect(double.requests).toEqual([]);
  });

  it('revoke with an argument that cannot name a ServiceAccount: exit 2, says what is accepted, no request', async () => {
    const run = await runCli(['rbac', 'revoke', '@@@'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("error: '@@@' cannot name a ServiceAccount (it has no letters a-z or digits): pass the email or username the ServiceAccount was made for, or the ServiceAccount's name, as `k8s-auth rbac list` shows them\n");
    expect(double.requests).toEqual([]);
  });

  it('list prints a table-like TSV off a TTY and JSON with -o json', async () => {
    const tsv = await runCli(['rbac', 'list'], env);
    expect(tsv.code).toBe(0);
    expect(tsv.stdout).toContain('default\tjane-example-com\tjane@example.com\tview, edit@team-a\n');
    const json = await runCli(['rbac', 'list', '-o', 'json'], env);
    const accounts = JSON.parse(json.stdout) as { serviceAccount: string }[];
    expect(accounts.map((a) => a.serviceAccount)).toContain('jane-example-com');
    expect(double.writes()).toEqual([]);
  });

  it('list prints an aligned table with headers on a TTY (a pty from script(1))', async () => {
    // stderr (where the spinner goes) off the pty: this test is about stdout
    const command = [process.execPath, cliEntry, 'rbac', 'list', '2>/dev/null'].join(' ');
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', `stty cols 120 rows 30; ${command}`, '/dev/null'], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: stdout.replaceAll('\r', '') });
      });
    });
    expect(run.code, run.stdout).toBe(0);
    const lines = run.stdout.split('\n').filter((l) => l.trim() !== '');
    const header = lines.find((l) => l.startsWith('NAMESPACE'));
    const row = lines.find((l) => l.includes('jane-example-com'));
    expect(header).toMatch(/^NAMESPACE {3,}SERVICEACCOUNT {3,}USER {3,}ROLES$/);
    expect(row).toMatch(/^default {3,}jane-example-com {3,}jane@example\.com {3,}view, edit@team-a$/);
    // columns line up under their headers, and nothing is tab-separated
    for (const [title, cell] of [['SERVICEACCOUNT', 'jane-example-com'], ['USER', 'jane@example.com'], ['ROLES', 'view, edit@team-a']]) {
      expect(row?.indexOf(cell as string)).toBe(header?.indexOf(title as string));
    }
    expect(run.stdout).not.toContain('\t');
    expect(double.writes()).toEqual([]);
  });

  it('list, revoke and sync show a spinner on a terminal stderr while they wait on the API server, and none when piped', async () => {
    const onTtyStderr = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
        // stdout to /dev/null: what script(1) captures is stderr on the pty
        const command = [process.execPath, cliEntry, ...args, '>/dev/null'].join(' ');
        const child = spawn('script', ['-qec', `stty cols 120 rows 30; ${command}`, '/dev/null'], { env: { ...env, CI: '' }, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      });
    const cases: [string[], string][] = [
      [['rbac', 'list'], 'listing managed ServiceAccounts…'],
      [['rbac', 'revoke', 'jane@example.com', '--dry-run'], 'planning the revocation…'],
      [['rbac', 'sync', '--dry-run'], 'planning the sync…'],
    ];
    for (const [args, text] of cases) {
      const run = await onTtyStderr(args);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr, args.join(' ')).toContain(text);
      const piped = await runCli(args, env);
      expect(piped.stderr).not.toContain(text);
    }
    expect(double.writes()).toEqual([]);
  });

  it('--all-clusters: a plan per cluster on stdout in catalog order, through each cluster\'s own context; wrong combinations are one usage line and no request', async () => {
    const double0 = parseYaml(await readFile(double.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[]; users: { user: Record<string, unknown> }[] };
    const kubeconfig = join(dir, 'fleet-kubeconfig');
    await writeFleetKubeconfig(kubeconfig, { cluster: double0.clusters[0]?.cluster, user: double0.users[0]?.user, clusters: ['blue', 'green'], contexts: { 'blue-admin': 'blue', green: 'green' } });
    const entry = { server: 'https://127.0.0.1:9', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': Buffer.from(provider.caPem).toString('base64') };
    const catalog = join(dir, 'fleet-catalog.yaml');
    await writeFile(catalog, stringifyYaml({ clusters: { green: entry, blue: entry } }));
    const token = join(dir, 'fleet-token');
    await writeFile(token, await provider.mintIdToken({ email: 'fleet@example.com', emailVerified: true, groups: ['developers'] }), { mode: 0o600 });
    const fleetEnv = { ...env, K8S_AUTH_CATALOG: catalog };
    const base = ['rbac', 'plan', '--all-clusters', '--id-token', token, '--kubeconfig', kubeconfig];

    for (const [args, message] of [
      [[...base, 'blue'], /^error: --all-clusters applies to every cluster of the catalog: name no cluster \(blue\) with it$/],
      [[...base, '--context', 'green'], /^error: --all-clusters uses each cluster's own kubeconfig context: drop --context$/],
      [[...base, '--parallel', '0'], /^error: --parallel '0' must be a whole number from 1 to 16/],
      [['rbac', 'plan', '--parallel', '2', '--id-token', token, ...issuerArgs()], /^error: --parallel goes with --all-clusters/],
    ] as const) {
      const run = await runCli(args, fleetEnv);
      expect({ args, code: run.code }).toEqual({ args, code: 2 });
      expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
    // the deprecated catalog-entry variable names one cluster: it does not go with --all-clusters
    const fromEnv = await runCli(base, { ...fleetEnv, K8S_AUTH_CATALOG_ENTRY: 'blue' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: --all-clusters and --cluster blue both name the clusters: use one \(unset K8S_AUTH_CATALOG_ENTRY/)]);
    // an empty catalog: exit 3, one line naming it
    const empty = join(dir, 'empty-catalog.yaml');
    await writeFile(empty, 'clusters: {}\n');
    const none = await runCli(base, { ...fleetEnv, K8S_AUTH_CATALOG: empty });
    expect(none.code).toBe(3);
    expect(none.stderr.trim().split('\n')).toEqual([`error: no clusters in ${empty}: add one, or name the cluster (\`rbac apply <cluster>\`)`]);
    expect(double.requests).toEqual([]);

    // each catalog entry verifies the token (one provider and client: verified once), each cluster's own context makes the calls
    const run = await runCli(base, fleetEnv);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^cluster blue \(context blue-admin\): ServiceAccount default\/fleet-example-com for fleet@example.com; groups granted: developers\n/);
    expect(run.stdout).toContain('\ncluster green (context green): ServiceAccount default/fleet-example-com');
    expect(run.stdout.match(/dry run: nothing changed/g)).toHaveLength(2);
    expect(run.stderr).toBe(`verified fleet@example.com (issuer ${provider.issuer}) from ${token}\n2 of 2 clusters planned\n`);
    expect(double.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    // a token on stdin is read once for every cluster
    env = fleetEnv;
    const piped = await runWithStdin(['rbac', 'plan', '--all-clusters', '--id-token', '-', '--kubeconfig', kubeconfig], `${await readFile(token, 'utf8')}\n`);
    env = cleanEnv({ HOME: dir, KUBECONFIG: double.kubeconfigPath, K8S_AUTH_RBAC_MAPPING: mappingFile });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).toContain('2 of 2 clusters planned');
    const verbose = await runCli([...base, '-v'], fleetEnv);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr.match(/the ID token was verified against .* for another cluster of this run/g)).toHaveLength(1);
  });

  it('revoke --dry-run plans, revoke deletes', async () => {
    const dry = await runCli(['rbac', 'revoke', 'jane@example.com', '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('5 to delete (dry run: nothing changed)');
    expect(double.writes()).toEqual([]);
    const run = await runCli(['rbac', 'revoke', 'jane-example-com', '-o', 'json'], env);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { writes: number }).writes).toBe(5);
    expect(double.writes().map((w) => `${w.method} ${w.resource}`)).toEqual(['DELETE clusterrolebindings', 'DELETE rolebindings', 'DELETE rolebindings', 'DELETE roles', 'DELETE serviceaccounts']);
  });
});
