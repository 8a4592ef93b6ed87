// Secrets stay secret: login, credential, rbac, token, whoami, logout and doctor run with
// --verbose, and ALL their stdout and stderr is searched for every secret value involved (ID
// token, access token, refresh token, client secret, password, Vault token, the kubeconfig's
// bearer token, a minted ServiceAccount token). The only place a token may appear is the data a
// command exists to print on stdout (credential's ExecCredential, `token -o json`). The command
// lines of the CLI and of the browser command it spawns are read from /proc and searched too.
// Also: the token cache file 0600 in a 0700 directory, under umask 000.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable } from '../support/browser.js';
import { startIdTokenFront, tamperSignature, type IdTokenFront } from '../support/id-token-front.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { spawnCli, waitForCaptured, writeUrlCaptureCommand } from '../support/reliability-harness.js';
import { cliEntry } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

let provider: TestProvider;
let front: IdTokenFront;
/** real OpenBao, the catalog of the Vault login; undefined when not installed (those suites skip) */
let bao: OpenBao | undefined;
const skipVault = skipUnless(openbaoAvailable(), OPENBAO_MISSING, 'security-secrets: the Vault login and the commands on it');
let api: KubeApiDouble;
let dir: TempDir;
let browser: { command: string };
const CLIENT_SECRET = `cs-${Math.random().toString(36).slice(2)}-confidential-secret`;
const PASSWORD = `pw-${Math.random().toString(36).slice(2)}-hunter2`;
/** every secret value seen in this file, by name */
const secrets = new Map<string, string>();
/** how many runs were searched, and how many bytes */
const searched = { runs: 0, bytes: 0 };

function remember(name: string, value: string | undefined): void {
  if (value) secrets.set(name, value);
}

/** No secret value (nor the signature part of a JWT) anywhere in `text`. */
function expectNoSecrets(text: string, where: string, allowed: string[] = []): void {
  searched.runs += 1;
  searched.bytes += text.length;
  for (const [name, value] of secrets) {
    if (allowed.includes(name)) continue;
    const parts = value.split('.');
    const needles = parts.length === 3 && (parts[2] ?? '').length > 16 ? [value, parts[2] as string] : [value];
    for (const needle of needles) expect(text.includes(needle), `${name} appears in ${where}`).toBe(false);
  }
}

beforeAll(async () => {
  [provider, bao, api] = await Promise.all([startTestProvider(), skipVault ? undefined : startOpenBao(), startKubeApiDouble()]);
  front = await startIdTokenFront(provider);
  dir = tempDir('k8s-auth-sec-secrets-');
  browser = writeUrlCaptureCommand(dir.path);
  remember('Vault token', bao?.token);
  remember('client secret', CLIENT_SECRET);
  remember('password', PASSWORD);
  remember('kubeconfig bearer token', api.adminToken);
  await bao?.kvPut('k8s-auth/clusters/prod', {
    server: api.url,
    'issuer-url': front.issuer,
    'client-id': 'k8s-auth-confidential',
    'client-secret': CLIENT_SECRET,
    'idp-certificate-authority-data': Buffer.from(front.caPem).toString('base64'),
  });
  writeFileSync(
    dir.file('clusters.yaml'),
    [
      'clusters:',
      '  prod:',
      `    server: ${api.url}`,
      `    issuer-url: ${front.issuer}`,
      '    client-id: k8s-auth-confidential',
      `    client-secret: ${CLIENT_SECRET}`,
      `    idp-certificate-authority-data: ${Buffer.from(front.caPem).toString('base64')}`,
      '',
    ].join('\n'),
  );
  api.seed('serviceaccounts', { metadata: { name: 'ci', namespace: 'default' } });
});

afterAll(async () => {
  await Promise.all([front?.close(), provider?.close(), bao?.stop(), api?.close()]);
  dir?.remove();
  process.stderr.write(`security-secrets: ${secrets.size} secret values searched for in ${searched.runs} outputs (${searched.bytes} bytes), 0 found\n`);
});

/** The cmdline of a live process, as the kernel shows it to every user of the machine. */
function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

describe.skipIf(skipVault)('login --verbose (Vault catalog in OpenBao, confidential client)', () => {
  it('prints no token, secret or Vault token; the CLI and browser command lines hold none either', async () => {
    const capture = dir.file('opened-login.jsonl');
    const kubeconfig = dir.file('kubeconfig');
    const cli = spawnCli(
      ['login', 'prod', '--kubeconfig', kubeconfig, '--browser-command', browser.command, '--verbose', '-o', 'json', '--timeout', '20'],
      cleanEnv({ HOME: dir.path, CAPTURE_FILE: capture, VAULT_ADDR: bao?.addr, VAULT_TOKEN: bao?.token }),
      40_000,
    );
    const opened = await waitForCaptured(capture);
    const cliCmdline = cmdline(cli.pid);
    expect(cliCmdline).toContain('login prod');
    const url = new URL(opened.url);
    const tokens = front.tokens(await front.mint({ nonce: String(url.searchParams.get('nonce')), audience: 'k8s-auth-confidential', extraClaims: { jti: randomUUID() } }));
    remember('ID token (login)', tokens.id_token);
    remember('access token (login)', tokens.access_token);
    remember('refresh token (login)', tokens.refresh_token);
    front.answer = async () => ({ status: 200, body: tokens });
    const redirect = new URL(String(url.searchParams.get('redirect_uri')));
    redirect.searchParams.set('code', 'verbose-code');
    redirect.searchParams.set('state', String(url.searchParams.get('state')));
    expect((await fetch(redirect)).status).toBe(200);
    const run = await cli.exited;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^debug: /m); // --verbose did print the details
    // the client secret went to the token endpoint (HTTP Basic, form-encoded per RFC 6749 2.3.1) ...
    const basic = Buffer.from(String(front.tokenRequests.at(-1)?.authorization).replace(/^Basic /, ''), 'base64').toString('utf8').split(':').map(decodeURIComponent);
    expect(basic).toEqual(['k8s-auth-confidential', CLIENT_SECRET]);
    expectNoSecrets(run.stderr, 'login stderr');
    expectNoSecrets(run.stdout, 'login stdout');
    expectNoSecrets(cliCmdline, 'the CLI command line');
    expectNoSecrets([...opened.cmdline, ...opened.parentCmdline].join(' '), 'the browser command line and its parent');
    expectNoSecrets(opened.url, 'the authorization URL');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
  });

  it('a refused sign-in with --verbose prints the cause, but no token', async () => {
    const capture = dir.file('opened-refused.jsonl');
    const cli = spawnCli(
      ['login', 'prod', '--catalog', dir.file('clusters.yaml'), '--kubeconfig', dir.file('kubeconfig-refused'), '--browser-command', browser.command, '--verbose', '--timeout', '20'],
      cleanEnv({ HOME: dir.path, CAPTURE_FILE: capture }),
      40_000,
    );
    const url = new URL((await waitForCaptured(capture)).url);
    const tokens = front.tokens(tamperSignature(await front.mint({ nonce: String(url.searchParams.get('nonce')), audience: 'k8s-auth-confidential', extraClaims: { jti: randomUUID() } })));
    remember('ID token (refused)', tokens.id_token);
    remember('access token (refused)', tokens.access_token);
    remember('refresh token (refused)', tokens.refresh_token);
    front.answer = async () => ({ status: 200, body: tokens });
    const redirect = new URL(String(url.searchParams.get('redirect_uri')));
    redirect.searchParams.set('code', 'c');
    redirect.searchParams.set('state', String(url.searchParams.get('state')));
    await fetch(redirect);
    const run = await cli.exited;
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^cause: /m);
    expectNoSecrets(run.stderr + run.stdout, 'refused login output');
  });
});

describe.skipIf(skipVault)('whoami, doctor and logout --verbose on the login just written', () => {
  const env = () => cleanEnv({ HOME: dir.path, VAULT_ADDR: bao?.addr, VAULT_TOKEN: bao?.token });
  it('whoami', async () => {
    const run = await spawnCli(['whoami', '--kubeconfig', dir.file('kubeconfig'), '--verbose', '-o', 'json'], env()).exited;
    expect(run.code, run.stderr).toBe(0);
    expectNoSecrets(run.stdout + run.stderr, 'whoami output');
  });
  it('doctor', async () => {
    const run = await spawnCli(['doctor', 'prod', '--kubeconfig', dir.file('kubeconfig'), '--verbose'], env()).exited;
    expect([0, 12]).toContain(run.code);
    expectNoSecrets(run.stdout + run.stderr, 'doctor output');
  });
  it('logout', async () => {
    const run = await spawnCli(['logout', 'prod', '--kubeconfig', dir.file('kubeconfig'), '--verbose'], env()).exited;
    expect(run.code, run.stderr).toBe(0);
    expectNoSecrets(run.stdout + run.stderr, 'logout output');
    // the tokens are gone; the client secret stays (kubectl needs it to refresh after the next login)
    expectNoSecrets(readFileSync(dir.file('kubeconfig'), 'utf8'), 'the kubeconfig after logout', ['kubeconfig bearer token', 'client secret']);
  });
});

describe('credential --verbose', () => {
  const cacheDir = () => dir.file('cache');
  const execInfo = JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } });
  const args = (...extra: string[]) => ['credential', 'prod', '--catalog', dir.file('clusters.yaml'), '--token-cache-dir', cacheDir(), '--verbose', ...extra];

  it('password grant from the environment: stdout holds only the ExecCredential, stderr no secret, argv no password; cache 0600 in 0700 under umask 000', async () => {
    const tokens = front.tokens(await front.mint({ audience: 'k8s-auth-confidential', extraClaims: { jti: randomUUID() } }));
    remember('ID token (password grant)', tokens.id_token);
    remember('access token (password grant)', tokens.access_token);
    remember('refresh token (password grant)', tokens.refresh_token);
    front.answer = async (form) => (form.get('grant_type') === 'password' ? { status: 200, body: tokens } : { status: 400, body: { error: 'unsupported_grant_type' } });
    const child = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, cliEntry, ...args('--grant', 'password', '--username', 'jane@example.com')], {
      env: cleanEnv({ HOME: dir.path, KUBERNETES_EXEC_INFO: execInfo, K8S_AUTH_PASSWORD: PASSWORD }),
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const argv = cmdline(child.pid ?? -1);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    expect(front.tokenRequests.at(-1)?.form.get('password')).toBe(PASSWORD); // the password was used ...
    expectNoSecrets(argv, 'the credential command line'); // ... but never on a command line
    expectNoSecrets(stderr, 'credential stderr');
    const credential = JSON.parse(stdout) as { kind: string; status: { token: string } };
    expect(credential.kind).toBe('ExecCredential');
    expect(credential.status.token).toBe(tokens.id_token); // the one token stdout exists for
    expectNoSecrets(stdout, 'credential stdout', ['ID token (password grant)']);
    const files = readdirSync(cacheDir());
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    for (const name of files) expect(statSync(join(cacheDir(), name)).mode & 0o777, name).toBe(0o600);
  });

  it('a refresh: the old and new refresh tokens and the access token stay out of stderr', async () => {
    const tokens = front.tokens(await front.mint({ audience: 'k8s-auth-confidential', extraClaims: { jti: randomUUID() } }));
    remember('ID token (refresh)', tokens.id_token);
    remember('access token (refresh)', tokens.access_token);
    remember('refresh token (refresh)', tokens.refresh_token);
    front.answer = async (form) => (form.get('grant_type') === 'refresh_token' ? { status: 200, body: tokens } : { status: 400, body: { error: 'unsupported_grant_type' } });
    // a skew longer than the token's life makes the cached token due for a refresh
    const run = await spawnCli(args('--skew', '7200', '--no-interactive'), cleanEnv({ HOME: dir.path, KUBERNETES_EXEC_INFO: execInfo })).exited;
    expect(run.code, run.stderr).toBe(0);
    expect(front.tokenRequests.at(-1)?.form.get('grant_type')).toBe('refresh_token');
    expectNoSecrets(run.stderr, 'credential refresh stderr');
    expectNoSecrets(run.stdout, 'credential refresh stdout', ['ID token (refresh)']);
  });
});

describe('rbac and token --verbose', () => {
  it('rbac apply --id-token FILE and --id-token - (stdin)', async () => {
    const idToken = await provider.mintIdToken({ emailVerified: true, groups: ['developers'] });
    remember('ID token (rbac)', idToken);
    const caFile = dir.file('idp-ca.pem');
    writeFileSync(caFile, provider.caPem);
    writeFileSync(dir.file('rbac-token'), idToken, { mode: 0o600 });
    const common = ['--issuer-url', provider.issuer, '--client-id', 'k8s-auth', '--idp-ca-file', caFile, '--kubeconfig', api.kubeconfigPath, '--verbose'];
    const fromFile = await spawnCli(['rbac', 'apply', '--id-token', dir.file('rbac-token'), ...common], cleanEnv({ HOME: dir.path })).exited;
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expectNoSecrets(fromFile.stdout + fromFile.stderr, 'rbac apply output');
    const fromStdin = await spawnCli(['rbac', 'plan', '--id-token', '-', ...common, '-o', 'json'], cleanEnv({ HOME: dir.path }), 30_000, idToken).exited;
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expectNoSecrets(fromStdin.stdout + fromStdin.stderr, 'rbac plan output');
  });

  it('token -o kubeconfig and -o json', async () => {
    const kubeconfig = dir.file('kubeconfig-token');
    writeFileSync(kubeconfig, readFileSync(api.kubeconfigPath));
    const merged = await spawnCli(['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'kubeconfig', '--kubeconfig', kubeconfig, '--verbose'], cleanEnv({ HOME: dir.path })).exited;
    expect(merged.code, merged.stderr).toBe(0);
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { token?: string } }[] };
    remember('minted token (kubeconfig)', doc.users.find((u) => u.name === 'ci@double')?.user.token);
    expect(merged.stdout).toBe('');
    expectNoSecrets(merged.stderr, 'token -o kubeconfig stderr');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const json = await spawnCli(['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'json', '--kubeconfig', kubeconfig, '--cluster', 'double', '--verbose'], cleanEnv({ HOME: dir.path })).exited;
    expect(json.code, json.stderr).toBe(0);
    const minted = (JSON.parse(json.stdout) as { token: string }).token;
    remember('minted token (json)', minted);
    expectNoSecrets(json.stderr, 'token -o json stderr');
    expectNoSecrets(json.stdout, 'token -o json stdout', ['minted token (json)']);
  });
});

const headless = join(repoRoot, 'scripts', 'headless-browser.mjs');
describe.skipIf(skipUnless(chromiumAvailable() && existsSync(headless), 'Debian chromium or scripts/headless-browser.mjs missing', 'security-secrets: real provider'))('login --verbose against the real provider in headless Chromium', () => {
  it('prints none of the password, ID token or refresh token the provider issued', async () => {
    const kubeconfig = dir.file('kubeconfig-real');
    const catalog = dir.file('clusters-real.yaml');
    writeFileSync(catalog, ['clusters:', '  real:', '    server: https://127.0.0.1:6443', `    issuer-url: ${provider.issuer}`, '    client-id: k8s-auth', `    idp-certificate-authority-data: ${Buffer.from(provider.caPem).toString('base64')}`, ''].join('\n'));
    const run = await spawnCli(
      ['login', 'real', '--catalog', catalog, '--kubeconfig', kubeconfig, '--browser-command', `${process.execPath} ${headless}`, '--verbose', '--timeout', '60'],
      cleanEnv({ HOME: dir.path, K8S_AUTH_DEMO_LOGIN: 'jane@example.com', K8S_AUTH_DEMO_PASSWORD: 'jane-password' }),
      90_000,
    ).exited;
    expect(run.code, run.stderr).toBe(0);
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { 'auth-provider': { config: Record<string, string> } } }[] };
    const config = doc.users[0]?.user['auth-provider'].config ?? {};
    remember('ID token (real provider)', config['id-token']);
    remember('refresh token (real provider)', config['refresh-token']);
    remember('password (real provider user)', 'jane-password');
    expect(config['id-token']).toBeTruthy();
    expectNoSecrets(run.stdout + run.stderr, 'real login output');
  });
});

describe('login --exec: the exec plugin kubectl runs carries no secret', () => {
  it('kubeconfig exec args/env and the plugin command line seen by real kubectl hold no token, secret or password', async () => {
    const kubeconfig = dir.file('kubeconfig-exec');
    const cacheDir = dir.file('cache-exec');
    // a wrapper --exec-command that records the command line kubectl gave it, then runs the CLI
    const record = dir.file('plugin-cmdline.txt');
    const wrapper = dir.file('k8s-auth-wrapper.sh');
    writeFileSync(wrapper, `#!/bin/sh\ntr '\\0' ' ' < /proc/$$/cmdline >> '${record}'\necho >> '${record}'\nexec '${process.execPath}' '${cliEntry}' "$@"\n`, { mode: 0o755 });
    const tokens = front.tokens(await front.mint({ audience: 'k8s-auth-confidential', extraClaims: { jti: randomUUID() } }));
    remember('ID token (login --exec)', tokens.id_token);
    remember('access token (login --exec)', tokens.access_token);
    remember('refresh token (login --exec)', tokens.refresh_token);
    front.answer = async (form) => (form.get('grant_type') === 'password' ? { status: 200, body: tokens } : { status: 400, body: { error: 'unsupported_grant_type' } });
    const run = await spawnCli(
      ['login', 'prod', '--exec', '--exec-command', wrapper, '--grant', 'password', '--username', 'jane@example.com', '--catalog', dir.file('clusters.yaml'), '--kubeconfig', kubeconfig, '--token-cache-dir', cacheDir, '--verbose'],
      cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: PASSWORD }),
    ).exited;
    expect(run.code, run.stderr).toBe(0);
    expectNoSecrets(run.stdout + run.stderr, 'login --exec output');
    const text = readFileSync(kubeconfig, 'utf8');
    expect(text).toContain('exec:');
    expectNoSecrets(text, 'the exec kubeconfig');
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir).mode & 0o777).toBe(0o700);
    for (const name of readdirSync(cacheDir)) expect(statSync(join(cacheDir, name)).mode & 0o777).toBe(0o600);

    const kubectl = join(repoRoot, '.tools', 'bin', 'kubectl-1.32');
    if (!existsSync(kubectl)) {
      process.stderr.write('security-secrets: .tools/bin/kubectl-1.32 missing; the plugin command line under kubectl was not checked\n');
      return;
    }
    const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
      const child = spawn(kubectl, ['get', '--raw', '/version', '--kubeconfig', kubeconfig], { env: cleanEnv({ HOME: dir.path }), stdio: ['ignore', 'pipe', 'pipe'] });
      let textOut = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (textOut += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (textOut += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, text: textOut });
      });
    });
    const seen = readFileSync(record, 'utf8');
    expect(seen).toContain('credential prod');
    expectNoSecrets(seen, 'the plugin command line under kubectl');
    expectNoSecrets(out.text, 'kubectl output with the plugin', ['ID token (login --exec)']);
  });
});
