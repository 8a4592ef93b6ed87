// The bad-input catalogue, part 1: what the user hands us on this machine. Malformed or
// non-mapping kubeconfigs (and one that is a directory, or sits under a file), KUBECONFIG lists
// of missing files, malformed catalog files and entries with wrong field types, unknown or
// invalid cluster names, bad flags, TTL strings, exec-plugin environment. Every case runs the
// built CLI with HOME pointing into the test directory and asserts the exit code of
// docs/exit-codes.md, exactly one stderr line, and that no file changed (bytes, mtime, mode; no
// lock or temp file created).
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { diffTrees, expectOneLineError, snapshotTree, spawnCli, withoutFileOverride, type OneLineExpectation } from '../support/reliability-harness.js';

let dir: TempDir;
const f = (name: string): string => dir.file(name);

const GOOD_ENTRY = ['    server: https://127.0.0.1:6443', '    issuer-url: https://127.0.0.1:9/dex', '    client-id: k8s-auth'];
const catalogWith = (...lines: string[]) => ['clusters:', '  prod:', ...lines, ''].join('\n');

const FIXTURES: Record<string, string> = {
  'catalog.yaml': catalogWith(...GOOD_ENTRY),
  'kc-malformed.yaml': 'apiVersion: v1\nclusters: [\n  - name: x\n',
  'kc-list.yaml': '- apiVersion: v1\n- kind: Config\n',
  'kc-scalar.yaml': 'just a string\n',
  'kc-clusters-map.yaml': 'apiVersion: v1\nkind: Config\nclusters: {}\n',
  'kc-good.yaml': 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n',
  'not-a-dir': 'a plain file\n',
  'cat-malformed.yaml': 'clusters: [\n',
  'cat-list.yaml': '- prod\n',
  'cat-unknown-top.yaml': 'clusterz: {}\n',
  'cat-clusters-list.yaml': 'clusters:\n- prod\n',
  'cat-missing-field.yaml': catalogWith('    server: https://127.0.0.1:6443', '    client-id: k8s-auth'),
  'cat-wrong-type.yaml': catalogWith('    server: https://127.0.0.1:6443', '    issuer-url: https://127.0.0.1:9/dex', '    client-id: 123'),
  'cat-unknown-field.yaml': catalogWith(...GOOD_ENTRY, '    issuer_url: https://127.0.0.1:9/dex'),
  'cat-http-server.yaml': catalogWith('    server: http://example.com', '    issuer-url: https://127.0.0.1:9/dex', '    client-id: k8s-auth'),
  'cat-bad-ca.yaml': catalogWith(...GOOD_ENTRY, '    certificate-authority-data: "not base64!"'),
  'cat-ca-not-pem.yaml': catalogWith(...GOOD_ENTRY, `    certificate-authority-data: ${Buffer.from('hello').toString('base64')}`),
  'cat-scopes-list.yaml': catalogWith(...GOOD_ENTRY, '    extra-scopes: [a, b]'),
  'cat-entry-string.yaml': 'clusters:\n  prod: "a string"\n',
  'cat-redirect.yaml': catalogWith(...GOOD_ENTRY, '    redirect-uri: https://example.com/callback'),
  'cat-issuer-not-url.yaml': catalogWith('    server: https://127.0.0.1:6443', '    issuer-url: not a url', '    client-id: k8s-auth'),
  'cat-empty.yaml': '',
};

beforeAll(() => {
  dir = tempDir('k8s-auth-rel-local-');
  for (const [name, text] of Object.entries(FIXTURES)) writeFileSync(f(name), text, { mode: 0o600 });
  mkdirSync(f('kc-dir.yaml'));
  mkdirSync(f('cat-dir.yaml'));
  mkdirSync(f('home'));
});

afterAll(() => dir?.remove());

interface Case extends OneLineExpectation {
  name: string;
  args: () => string[];
  env?: () => Record<string, string | undefined>;
  code: number;
}

const login = (kubeconfig: string, catalog = f('catalog.yaml'), ...extra: string[]) => ['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '--timeout', '3', ...extra];
const withCatalog = (catalog: string, cluster = 'prod') => ['login', cluster, '--catalog', catalog, '--kubeconfig', f('kc-good.yaml'), '--no-browser', '--timeout', '3'];
const token = (...args: string[]) => ['token', '-o', 'json', '--kubeconfig', f('kc-good.yaml'), ...args];
const execInfo = (value: string) => () => ({ KUBERNETES_EXEC_INFO: value });
const credential = (...args: string[]) => ['credential', 'prod', '--catalog', f('catalog.yaml'), ...args];

const KUBECONFIG_CASES: Case[] = [
  { name: 'malformed YAML', args: () => login(f('kc-malformed.yaml')), code: 8, message: /kc-malformed\.yaml is not valid YAML: .*nothing was written/ },
  { name: 'a list, not a mapping', args: () => login(f('kc-list.yaml')), code: 8, message: /kc-list\.yaml is not a mapping/ },
  { name: 'a scalar, not a mapping', args: () => login(f('kc-scalar.yaml')), code: 8, message: /kc-scalar\.yaml is not a mapping/ },
  { name: "'clusters' a mapping, not a list", args: () => login(f('kc-clusters-map.yaml')), code: 8, message: /'clusters' must be a list/ },
  { name: 'a directory', args: () => login(f('kc-dir.yaml')), code: 8, message: /kc-dir\.yaml is a directory, not a file/ },
  { name: 'a path under a plain file (unreadable)', args: () => login(f('not-a-dir/config')), code: 8, message: /cannot read kubeconfig .*not-a-dir\/config: ENOTDIR/ },
  { name: 'KUBECONFIG listing only missing files (whoami)', args: () => ['whoami'], env: () => ({ KUBECONFIG: `${f('missing-1')}:${f('missing-2')}` }), code: 8, message: /no current context in .*missing-1:.*missing-2/ },
  { name: 'KUBECONFIG listing a missing and a malformed file (login)', args: () => ['login', 'prod', '--catalog', f('catalog.yaml'), '--no-browser'], env: () => ({ KUBECONFIG: `${f('missing-1')}:${f('kc-malformed.yaml')}` }), code: 8, message: /kc-malformed\.yaml is not valid YAML/ },
  { name: 'whoami on a malformed kubeconfig', args: () => ['whoami', '--kubeconfig', f('kc-malformed.yaml')], code: 8, message: /is not valid YAML/ },
  { name: 'logout on a kubeconfig that is a directory', args: () => ['logout', 'prod', '--kubeconfig', f('kc-dir.yaml')], code: 8, message: /is a directory/ },
  { name: 'token on a malformed kubeconfig', args: () => ['token', '--ttl', '1h', '-o', 'json', '--kubeconfig', f('kc-malformed.yaml')], code: 8, message: /kc-malformed\.yaml is not valid YAML: .*nothing was written/ },
  { name: 'token with a kubeconfig that does not exist', args: () => ['token', '--ttl', '1h', '-o', 'json', '--kubeconfig', f('missing-kc')], code: 8, message: /no kubeconfig at .*missing-kc/ },
];

const CATALOG_CASES: Case[] = [
  { name: 'catalog file missing', args: () => withCatalog(f('no-such-catalog.yaml')), code: 3, message: /catalog file .*no-such-catalog\.yaml does not exist/ },
  { name: 'no catalog at all (no VAULT_ADDR, no default file)', args: () => ['login', 'prod', '--kubeconfig', f('kc-good.yaml'), '--no-browser'], env: () => ({ XDG_CONFIG_HOME: f('xdg') }), code: 3, message: /no cluster catalog: VAULT_ADDR is not set/ },
  { name: 'catalog malformed YAML', args: () => withCatalog(f('cat-malformed.yaml')), code: 3, message: /is not valid YAML/ },
  { name: 'catalog a list', args: () => withCatalog(f('cat-list.yaml')), code: 3, message: /must be a mapping with a 'clusters:' key/ },
  { name: 'catalog empty', args: () => withCatalog(f('cat-empty.yaml')), code: 3, message: /is empty/ },
  { name: 'catalog unknown top-level key', args: () => withCatalog(f('cat-unknown-top.yaml')), code: 3, message: /unknown top-level key 'clusterz'/ },
  { name: "catalog 'clusters' a list", args: () => withCatalog(f('cat-clusters-list.yaml')), code: 3, message: /'clusters' must be a mapping .* not a list/ },
  { name: 'entry missing issuer-url', args: () => withCatalog(f('cat-missing-field.yaml')), code: 3, message: /cluster 'prod' in .*: required field 'issuer-url' is missing/ },
  { name: 'entry client-id a number', args: () => withCatalog(f('cat-wrong-type.yaml')), code: 3, message: /field 'client-id' must be a string, not number/ },
  { name: 'entry with a misspelt field', args: () => withCatalog(f('cat-unknown-field.yaml')), code: 3, message: /unknown field 'issuer_url'/ },
  { name: 'entry server plain http to a remote host', args: () => withCatalog(f('cat-http-server.yaml')), code: 3, message: /field 'server' must be an https:\/\/ URL/ },
  { name: 'entry CA data not base64', args: () => withCatalog(f('cat-bad-ca.yaml')), code: 3, message: /must be base64 of a PEM certificate/ },
  { name: 'entry CA data not a PEM', args: () => withCatalog(f('cat-ca-not-pem.yaml')), code: 3, message: /does not decode to a PEM certificate/ },
  { name: 'entry extra-scopes a list', args: () => withCatalog(f('cat-scopes-list.yaml')), code: 3, message: /field 'extra-scopes' must be a string, not a list/ },
  { name: 'entry a string', args: () => withCatalog(f('cat-entry-string.yaml')), code: 3, message: /entry must be a mapping of fields/ },
  { name: 'entry redirect-uri not loopback', args: () => withCatalog(f('cat-redirect.yaml')), code: 3, message: /field 'redirect-uri' must be http:\/\/127\.0\.0\.1/ },
  { name: 'entry issuer-url not a URL', args: () => withCatalog(f('cat-issuer-not-url.yaml')), code: 3, message: /field 'issuer-url' is not a URL/ },
  { name: 'catalog a directory', args: () => withCatalog(f('cat-dir.yaml')), code: 3, message: /is a directory/ },
  { name: 'unknown cluster', args: () => withCatalog(f('catalog.yaml'), 'staging'), code: 3, message: /cluster 'staging' not found in .* \(known: prod\)/ },
  { name: 'invalid cluster name', args: () => withCatalog(f('catalog.yaml'), '../etc/passwd'), code: 2, message: /invalid cluster name '\.\.\/etc\/passwd'/ },
  { name: 'clusters listing a malformed catalog', args: () => ['clusters', '--catalog', f('cat-malformed.yaml')], code: 3, message: /is not valid YAML/ },
];

const USAGE_CASES: Case[] = [
  { name: '--timeout not a number', args: () => login(f('kc-good.yaml'), undefined, '--timeout', 'abc'), code: 2, message: /--timeout must be a positive number of seconds \(or 90s, 2m, 1h\), not 'abc'/ },
  { name: '--listen-port out of range', args: () => login(f('kc-good.yaml'), undefined, '--listen-port', '99999'), code: 2, message: /--listen-port must be a port number \(1-65535\), not '99999'/ },
  { name: '--http-timeout 0', args: () => login(f('kc-good.yaml'), undefined, '--http-timeout', '0'), code: 2, message: /--http-timeout must be a positive number of seconds \(or 90s, 2m, 1h\), not '0'/ },
  { name: 'an unknown flag', args: () => login(f('kc-good.yaml'), undefined, '--bogus'), code: 2, message: /unknown option '--bogus' \(see --help\)/ },
  { name: 'a missing argument', args: () => ['login'], code: 2, message: /missing required argument 'cluster'/ },
  { name: '--certificate-authority file missing', args: () => login(f('kc-good.yaml'), undefined, '--certificate-authority', f('no-ca.pem')), code: 2, message: /cannot read CA file .*no-ca\.pem/ },
  { name: '--vault-mount with --catalog', args: () => login(f('kc-good.yaml'), undefined, '--vault-mount', 'kv'), code: 2, message: /cannot be combined with --catalog/ },
  { name: '--vault-mount without VAULT_ADDR', args: () => ['login', 'prod', '--vault-mount', 'kv', '--kubeconfig', f('kc-good.yaml')], code: 2, message: /need VAULT_ADDR/ },
  { name: 'completion for an unknown shell', args: () => ['completion', 'tcsh'], code: 2, message: /'tcsh' is invalid/ },
];

const TTL_CASES: Case[] = [
  { name: '--ttl abc', args: () => token('--ttl', 'abc'), code: 2, message: /--ttl 'abc' is not a duration/ },
  { name: '--ttl 5m (under the 10 minute minimum)', args: () => token('--ttl', '5m'), code: 2, message: /shorter than the 10 minute minimum/ },
  { name: '--ttl 9m59s', args: () => token('--ttl', '9m59s'), code: 2, message: /shorter than the 10 minute minimum/ },
  { name: '--ttl 0 (no unit)', args: () => token('--ttl', '0'), code: 2, message: /has no unit/ },
  { name: '--ttl -1h', args: () => token('--ttl', '-1h'), code: 2, message: /is not a duration/ },
  { name: '--ttl 12x', args: () => token('--ttl', '12x'), code: 2, message: /is not a duration/ },
  { name: '--ttl 1h1h', args: () => token('--ttl', '1h1h'), code: 2, message: /repeats or misorders its units/ },
  { name: '--ttl 30m1h', args: () => token('--ttl', '30m1h'), code: 2, message: /repeats or misorders its units/ },
  { name: '--ttl 1.5h', args: () => token('--ttl', '1.5h'), code: 2, message: /is not a duration/ },
  { name: '--ttl empty', args: () => token('--ttl', ''), code: 2, message: /--ttl is empty: give a duration/ },
  { name: '--ttl beyond 2^32 seconds', args: () => token('--ttl', '99999999999d'), code: 2, message: /longer than Kubernetes accepts/ },
  { name: 'K8S_AUTH_TTL malformed (named as the env var)', args: () => token(), env: () => ({ K8S_AUTH_TTL: '2 hours' }), code: 2, message: /K8S_AUTH_TTL '2 hours' is not a duration/ },
  { name: 'no --ttl', args: () => token(), code: 2, message: /required option '--ttl <duration>' not specified/ },
  { name: 'an invalid namespace', args: () => token('--ttl', '1h', '-n', 'Bad_NS'), code: 2, message: /namespace 'Bad_NS' is not a valid Kubernetes name/ },
  { name: 'an invalid ServiceAccount name', args: () => token('--ttl', '1h', '--service-account', 'Bad Name'), code: 2, message: /ServiceAccount name 'Bad Name' is not a valid Kubernetes name/ },
  { name: '--kubeconfig-out without -o kubeconfig', args: () => token('--ttl', '1h', '--kubeconfig-out', f('out.yaml')), code: 2, message: /--kubeconfig-out needs -o kubeconfig/ },
  { name: 'an unknown output format', args: () => ['token', '--ttl', '1h', '-o', 'text', '--kubeconfig', f('kc-good.yaml')], code: 2, message: /argument 'text' is invalid/ },
];

const CREDENTIAL_CASES: Case[] = [
  { name: 'KUBERNETES_EXEC_INFO not JSON', args: () => credential(), env: execInfo('{not json'), code: 2, message: /KUBERNETES_EXEC_INFO is not valid JSON/ },
  { name: 'KUBERNETES_EXEC_INFO with an unknown apiVersion', args: () => credential(), env: execInfo('{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v9","spec":{}}'), code: 2, message: /apiVersion 'client\.authentication\.k8s\.io\/v9'/ },
  { name: 'only some of --issuer/--client-id/--scopes', args: () => credential('--issuer', 'https://127.0.0.1:9/dex'), code: 2, message: /go together/ },
  { name: 'an unknown --grant', args: () => credential('--grant', 'bogus'), code: 2, message: /unknown --grant 'bogus'/ },
  { name: '--skew not a duration', args: () => credential('--skew', 'abc'), code: 2, message: /--skew must be a number of seconds/ },
  { name: '--lock-timeout negative', args: () => credential('--lock-timeout', '-5'), code: 2, message: /--lock-timeout must be a number of seconds/ },
];

function runCases(cases: Case[]): void {
  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, one line, no file changed`, async () => {
      const before = snapshotTree(dir.path);
      const run = await spawnCli(c.args(), cleanEnv({ HOME: f('home'), ...c.env?.() }), 30_000).exited;
      expect(run.code, run.stderr).toBe(c.code);
      const line = expectOneLineError(run.stderr, c);
      expect(line).not.toMatch(/::\s|such as e\.g\./); // no doubled punctuation from wrapped messages
      expect(run.stdout).toBe('');
      expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
    });
  }
}

describe('kubeconfig inputs', () => {
  runCases(KUBECONFIG_CASES);
  // as root, the CLI runs without CAP_DAC_OVERRIDE (setpriv), so the mode is enforced
  it('a kubeconfig unreadable by mode (chmod 000): exit 8, one line, file untouched', async () => {
    const path = f('kc-unreadable.yaml');
    writeFileSync(path, FIXTURES['kc-good.yaml'] as string, { mode: 0o000 });
    const before = snapshotTree(dir.path);
    const run = await spawnCli(login(path), cleanEnv({ HOME: f('home') }), 30_000, undefined, withoutFileOverride()).exited;
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: /cannot read kubeconfig .*kc-unreadable\.yaml \(permission denied\)/ });
    expect(run.stdout).toBe('');
    expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
  });
});
describe('catalog inputs', () => runCases(CATALOG_CASES));
describe('flags and arguments', () => runCases(USAGE_CASES));
describe('token: TTL strings and names', () => runCases(TTL_CASES));
describe('credential: exec plugin environment and flags', () => runCases(CREDENTIAL_CASES));
