// Nobody let in, the login side (RFC 8252, RFC 9700): PKCE S256 on every authorization request
// (even when the provider does not advertise it) with a verifier that matches at the token
// endpoint; state and nonce fresh and single-use (a replayed callback finds no listener); the
// callback listener on loopback only (checked in /proc/net and by connecting to this machine's
// other addresses) and closed after use; TLS verified unless the user opts out, which warns;
// the kubeconfig written 0600 even under umask 000. The built CLI signs in through the token
// front (test/support/id-token-front.ts), with a browser command that records what it opened.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pkceChallengeOf, startIdTokenFront, type IdTokenFront } from '../support/id-token-front.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { nonEmptyLines, spawnCli, waitForCaptured, writeUrlCaptureCommand, type CapturedOpen, type SpawnedCli } from '../support/reliability-harness.js';

let provider: TestProvider;
let front: IdTokenFront;
let dir: TempDir;
let catalog: string;
let browser: { command: string };
let runs = 0;

beforeAll(async () => {
  provider = await startTestProvider();
  front = await startIdTokenFront(provider);
  dir = tempDir('k8s-auth-sec-login-');
  catalog = dir.file('clusters.yaml');
  const fields = (issuer: string, ca?: string) => [
    '    server: https://127.0.0.1:6443',
    `    issuer-url: ${issuer}`,
    '    client-id: k8s-auth',
    ...(ca ? [`    idp-certificate-authority-data: ${Buffer.from(ca).toString('base64')}`] : []),
  ];
  writeFileSync(catalog, ['clusters:', '  prod:', ...fields(front.issuer, front.caPem), '  untrusted:', ...fields(front.issuer), ''].join('\n'));
  browser = writeUrlCaptureCommand(dir.path);
});

afterAll(async () => {
  await front?.close();
  await provider?.close();
  dir?.remove();
});

beforeEach(() => {
  front.metadata = {};
  front.tokenRequests.length = 0;
});

function hit(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

interface Login {
  cli: SpawnedCli;
  opened: CapturedOpen;
  url: URL;
  redirect: URL;
  kubeconfig: string;
}

async function startLogin(cluster = 'prod', extra: string[] = []): Promise<Login> {
  runs += 1;
  const capture = dir.file(`opened-${runs}.jsonl`);
  const kubeconfig = dir.file(`kubeconfig-${runs}`);
  const args = ['login', cluster, '--catalog', catalog, '--kubeconfig', kubeconfig, '--browser-command', browser.command, '-q', '--timeout', '20', ...extra];
  const env = cleanEnv({ HOME: dir.path, CAPTURE_FILE: capture });
  const cli = spawnCli(args, env, 40_000);
  const opened = await Promise.race([waitForCaptured(capture), cli.exited.then((r) => Promise.reject(new Error(`exited ${r.code}: ${r.stderr}`)))]);
  const url = new URL(opened.url);
  return { cli, opened, url, redirect: new URL(String(url.searchParams.get('redirect_uri'))), kubeconfig };
}

function callback(login: Login, params: Record<string, string>): string {
  const u = new URL(login.redirect);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.href;
}

/** Signs the login in through the front with a good token; resolves with the CLI's result. */
async function complete(login: Login): Promise<{ code: number | null; stderr: string; callbackUrl: string }> {
  const idToken = await front.mint({ nonce: String(login.url.searchParams.get('nonce')) });
  front.answer = async () => ({ status: 200, body: front.tokens(idToken) });
  const callbackUrl = callback(login, { code: `code-${runs}`, state: String(login.url.searchParams.get('state')) });
  expect(await hit(callbackUrl)).toBe(200);
  const result = await login.cli.exited;
  return { code: result.code, stderr: result.stderr, callbackUrl };
}

/** Local addresses with a LISTEN socket on `port`, from /proc/net/tcp and tcp6. */
function listeners(port: number): string[] {
  const out: string[] = [];
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const [addr, p] = (cols[1] ?? '').split(':');
      if (p !== hexPort || cols[3] !== '0A' || !addr) continue;
      if (addr.length === 8) out.push(Buffer.from(addr, 'hex').reverse().join('.'));
      else out.push(addr === '00000000000000000000000001000000' ? '::1' : addr === '0'.repeat(32) ? '::' : addr);
    }
  }
  return out;
}

function tryConnect(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('PKCE, state and nonce', () => {
  it('every authorization request carries PKCE S256, and the verifier sent to the token endpoint matches the challenge', async () => {
    const login = await startLogin();
    const params = login.url.searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('response_type')).toBe('code');
    const result = await complete(login);
    expect(result.code, result.stderr).toBe(0);
    expect(front.tokenRequests).toHaveLength(1);
    const form = front.tokenRequests[0]?.form as URLSearchParams;
    const verifier = String(form.get('code_verifier'));
    expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(pkceChallengeOf(verifier)).toBe(params.get('code_challenge'));
    expect(form.get('redirect_uri')).toBe(login.redirect.href);
  });

  it('uses S256 even when the provider does not advertise PKCE (and never "plain")', async () => {
    front.metadata = { code_challenge_methods_supported: undefined };
    const login = await startLogin();
    expect(login.url.searchParams.get('code_challenge_method')).toBe('S256');
    login.cli.signal('SIGINT');
    await login.cli.exited;
    front.metadata = { code_challenge_methods_supported: ['plain'] };
    const second = await startLogin();
    expect(second.url.searchParams.get('code_challenge_method')).toBe('S256');
    second.cli.signal('SIGINT');
    await second.cli.exited;
  });

  it('state, nonce and the PKCE challenge are fresh per login and too long to guess (>= 128 bits)', async () => {
    const seen = { state: new Set<string>(), nonce: new Set<string>(), code_challenge: new Set<string>() };
    for (let i = 0; i < 3; i++) {
      const login = await startLogin();
      for (const key of ['state', 'nonce', 'code_challenge'] as const) {
        const value = String(login.url.searchParams.get(key));
        expect(value.length, key).toBeGreaterThanOrEqual(22); // base64url: 22 chars = 132 bits
        seen[key].add(value);
      }
      login.cli.signal('SIGINT');
      await login.cli.exited;
    }
    expect(seen.state.size).toBe(3);
    expect(seen.nonce.size).toBe(3);
    expect(seen.code_challenge.size).toBe(3);
  });

  it('a replayed callback after a successful sign-in finds no listener; the code was redeemed once', async () => {
    const login = await startLogin();
    const result = await complete(login);
    expect(result.code, result.stderr).toBe(0);
    expect(await hit(result.callbackUrl)).toBe('ECONNREFUSED');
    expect(front.tokenRequests).toHaveLength(1);
  });

  it('a second callback while the first is being redeemed is answered 409 and not redeemed', async () => {
    const login = await startLogin();
    const idToken = await front.mint({ nonce: String(login.url.searchParams.get('nonce')) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    front.answer = async () => {
      await gate;
      return { status: 200, body: front.tokens(idToken) };
    };
    const url = callback(login, { code: 'the-code', state: String(login.url.searchParams.get('state')) });
    const first = hit(url);
    while (front.tokenRequests.length === 0) await new Promise((r) => setTimeout(r, 10));
    expect(await hit(url)).toBe(409);
    release();
    expect(await first).toBe(200);
    expect((await login.cli.exited).code).toBe(0);
    expect(front.tokenRequests).toHaveLength(1);
  });
});

describe('the loopback listener', () => {
  it('listens on 127.0.0.1 only, is unreachable on the other addresses of this machine, and is closed after use', async () => {
    const login = await startLogin();
    const port = Number(login.redirect.port);
    expect(login.redirect.hostname).toBe('127.0.0.1');
    expect(listeners(port)).toEqual(['127.0.0.1']);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a): a is NonNullable<typeof a> => a !== undefined && !a.internal && !a.address.startsWith('fe80'))
      .map((a) => a.address);
    for (const address of others) expect(await tryConnect(address, port), address).toBe('ECONNREFUSED');
    if (others.length === 0) process.stderr.write('security-login: this machine has no non-loopback address; checked /proc/net only\n');
    const result = await complete(login);
    expect(result.code, result.stderr).toBe(0);
    expect(listeners(port)).toEqual([]);
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
  });
});

describe('TLS verification', () => {
  it('refuses a provider whose certificate is not trusted (exit 5, names the fix)', async () => {
    const run = await spawnCli(['login', 'untrusted', '--catalog', catalog, '--kubeconfig', dir.file('kc-tls'), '--no-browser', '--timeout', '3'], cleanEnv({ HOME: dir.path })).exited;
    expect(run.code).toBe(5);
    expect(nonEmptyLines(run.stderr)).toEqual([expect.stringMatching(/^error: TLS certificate of identity provider at .* is not trusted \(.+\): pass its CA with --certificate-authority FILE, or put it in the catalog entry.s idp-certificate-authority-data rather than disabling verification$/)]);
  });

  it('--insecure-skip-tls-verify is the only way around it, and it warns', async () => {
    const login = await startLogin('untrusted', ['--insecure-skip-tls-verify']);
    const result = await complete(login);
    expect(result.code, result.stderr).toBe(0);
    expect(nonEmptyLines(result.stderr)).toEqual([expect.stringMatching(/^warning: TLS verification is OFF for the identity provider \(you asked for it\)/)]);
  });
});

describe('file modes', () => {
  it('the kubeconfig is written 0600 even when it was 0644 before and the umask is 000', async () => {
    const capture = dir.file('opened-umask.jsonl');
    const kubeconfig = dir.file('kubeconfig-umask');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n', { mode: 0o644 });
    const { spawn } = await import('node:child_process');
    const { cliEntry } = await import('../support/run-cli.js');
    const child = spawn('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, cliEntry, 'login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--browser-command', browser.command, '-q', '--timeout', '20'], {
      env: cleanEnv({ HOME: dir.path, CAPTURE_FILE: capture }),
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const opened = await waitForCaptured(capture);
    const url = new URL(opened.url);
    const idToken = await front.mint({ nonce: String(url.searchParams.get('nonce')) });
    front.answer = async () => ({ status: 200, body: front.tokens(idToken) });
    const redirect = new URL(String(url.searchParams.get('redirect_uri')));
    redirect.searchParams.set('code', 'c');
    redirect.searchParams.set('state', String(url.searchParams.get('state')));
    expect(await hit(redirect.href)).toBe(200);
    expect(await exited).toBe(0);
    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { 'auth-provider': { config: Record<string, string> } } }[] };
    expect(doc.users[0]?.user['auth-provider'].config['id-token']).toBe(idToken);
  });
});
