// Bad inputs that reach the login flow itself, end to end with the built CLI: ID tokens that
// must not be accepted (bad signature, alg none, wrong audience or issuer, expired, issued in
// the future, nonce mismatch, signed by a key the JWKS lacks), abusive callbacks, and Ctrl-C in
// the middle of a login. Tokens come from a front (test/support/id-token-front.ts) whose keys
// are the real test provider's; each case asserts the exit code, the one-line message, and that
// no file in the test directory changed (bytes, mtime, mode; no lock or temp file left).
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { algNone, alterPayload, startIdTokenFront, tamperSignature, type IdTokenFront } from '../support/id-token-front.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import {
  diffTrees,
  expectOneLineError,
  nonEmptyLines,
  snapshotTree,
  spawnCli,
  waitForCaptured,
  writeUrlCaptureCommand,
  type CapturedOpen,
  type SpawnedCli,
} from '../support/reliability-harness.js';

/** GET (or another method) on the loopback listener; resolves with the status, or the error code. */
function hit(url: string, method = 'GET'): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(url, { method, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function callbackUrl(authUrl: string, params: Record<string, string>): string {
  const redirect = new URL(String(new URL(authUrl).searchParams.get('redirect_uri')));
  for (const [k, v] of Object.entries(params)) redirect.searchParams.set(k, v);
  return redirect.href;
}

let provider: TestProvider;
let front: IdTokenFront;
let dir: TempDir;
let catalog: string;
let kubeconfig: string;
let browser: { command: string };
let runs = 0;

const KUBECONFIG_BEFORE = [
  'apiVersion: v1',
  'kind: Config',
  'clusters:',
  '- name: existing',
  '  cluster:',
  '    server: https://127.0.0.1:6443',
  'users:',
  '- name: someone',
  '  user:',
  '    token: existing-static-token-value',
  'contexts:',
  '- name: existing',
  '  context:',
  '    cluster: existing',
  '    user: someone',
  'current-context: existing',
  '',
].join('\n');

beforeAll(async () => {
  provider = await startTestProvider();
  front = await startIdTokenFront(provider);
  dir = tempDir('k8s-auth-rel-login-');
  catalog = dir.file('clusters.yaml');
  writeFileSync(
    catalog,
    [
      'clusters:',
      '  prod:',
      '    server: https://127.0.0.1:6443',
      `    issuer-url: ${front.issuer}`,
      `    client-id: ${front.clientId}`,
      `    idp-certificate-authority-data: ${Buffer.from(front.caPem).toString('base64')}`,
      '',
    ].join('\n'),
  );
  kubeconfig = dir.file('kubeconfig');
  writeFileSync(kubeconfig, KUBECONFIG_BEFORE, { mode: 0o600 });
  browser = writeUrlCaptureCommand(dir.path);
});

afterAll(async () => {
  await front?.close();
  await provider?.close();
  dir?.remove();
});

beforeEach(() => {
  front.jwks = 'real';
  front.tokenRequests.length = 0;
});

interface LoginRun {
  opened: CapturedOpen;
  state: string;
  nonce: string;
  cli: SpawnedCli;
  finish(): SpawnedCli['exited'];
}

/** Starts `login prod` with the capturing browser command; resolves once the URL was "opened". */
async function startLogin(extra: string[] = [], timeoutSeconds = 20): Promise<LoginRun> {
  runs += 1;
  const capture = dir.file(`opened-${runs}.jsonl`);
  const cli = spawnCli(
    ['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--browser-command', browser.command, '-q', '--timeout', String(timeoutSeconds), ...extra],
    cleanEnv({ CAPTURE_FILE: capture, HOME: dir.path }),
    (timeoutSeconds + 20) * 1000,
  );
  const opened = await Promise.race([waitForCaptured(capture), cli.exited.then((r) => Promise.reject(new Error(`login exited ${r.code} before opening: ${r.stderr}`)))]);
  const url = new URL(opened.url);
  return { opened, state: String(url.searchParams.get('state')), nonce: String(url.searchParams.get('nonce')), cli, finish: () => cli.exited };
}

describe('ID tokens the login must refuse (through the real login flow)', () => {
  it('control: a good token signs in and writes the kubeconfig (so the refusals below are real)', async () => {
    const login = await startLogin();
    const idToken = await front.mint({ nonce: login.nonce, email: 'jane@example.com' });
    front.answer = async () => ({ status: 200, body: front.tokens(idToken) });
    expect(await hit(callbackUrl(login.opened.url, { code: 'good-code', state: login.state }))).toBe(200);
    const result = await login.finish();
    expect(result.code, result.stderr).toBe(0);
    expect(nonEmptyLines(result.stderr)).toEqual([]);
    // restore the starting kubeconfig for the refusal cases
    writeFileSync(kubeconfig, KUBECONFIG_BEFORE, { mode: 0o600 });
  });

  const cases: { name: string; token: (nonce: string) => Promise<string>; jwks?: 'other-key' | 'empty'; message: RegExp }[] = [
    { name: 'bad signature', token: async (nonce) => tamperSignature(await front.mint({ nonce })), message: /ID token|signature|JWS/i },
    { name: 'payload altered after signing (another email)', token: async (nonce) => alterPayload(await front.mint({ nonce }), { email: 'ops@example.com' }), message: /ID token|signature|JWS/i },
    { name: 'alg none', token: async (nonce) => algNone(await front.mint({ nonce })), message: /alg|ID token/i },
    { name: 'wrong audience', token: (nonce) => front.mint({ nonce, audience: 'someone-else' }), message: /aud/i },
    { name: 'wrong issuer', token: (nonce) => front.mint({ nonce, issuer: provider.issuer }), message: /iss/i },
    { name: 'expired', token: (nonce) => front.mint({ nonce, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 }), message: /exp|time|clock/i },
    { name: 'issued in the future (iat)', token: (nonce) => front.mint({ nonce, issuedAt: Math.floor(Date.now() / 1000) + 3600, expiresInSeconds: 3600 }), message: /iat|future|time|clock/i },
    { name: 'nonce mismatch', token: () => front.mint({ nonce: 'not-the-nonce-of-this-login' }), message: /nonce/i },
    { name: 'no nonce at all', token: () => front.mint({}), message: /nonce/i },
    { name: 'JWKS without the signing key', token: (nonce) => front.mint({ nonce }), jwks: 'other-key', message: /key|JWK/i },
    { name: 'JWKS empty', token: (nonce) => front.mint({ nonce }), jwks: 'empty', message: /key|JWK/i },
  ];

  for (const c of cases) {
    it(`refuses an ID token with ${c.name}: exit 5, one line, no file changed`, async () => {
      const before = snapshotTree(dir.path);
      // before the login starts: the CLI fetches the key set while the person signs in
      if (c.jwks) front.jwks = c.jwks;
      const login = await startLogin();
      const idToken = await c.token(login.nonce);
      front.answer = async () => ({ status: 200, body: front.tokens(idToken) });
      const status = await hit(callbackUrl(login.opened.url, { code: 'a-code', state: login.state }));
      const result = await login.finish();
      expect(status).toBe(502); // the browser page says the sign-in failed
      expect(result.code, result.stderr).toBe(5);
      expectOneLineError(result.stderr, { message: c.message });
      expect(result.stderr).not.toContain(idToken.split('.')[2] || idToken);
      const after = snapshotTree(dir.path);
      expect(diffTrees(before, after).filter((l) => !l.includes('opened-'))).toEqual([]);
    });
  }
});

describe('callbacks and token answers the login must refuse', () => {
  /** Callbacks that are not this sign-in's: answered with an error page, the login keeps waiting until --timeout. */
  const ignored: { name: string; params: (state: string) => Record<string, string>; status: number[] }[] = [
    { name: 'a wrong state', params: () => ({ code: 'forged', state: 'not-the-state' }), status: [400] },
    { name: 'no state', params: () => ({ code: 'forged' }), status: [400] },
    { name: 'no code', params: (state) => ({ state }), status: [400] },
    { name: 'an empty code', params: (state) => ({ state, code: '' }), status: [400] },
    { name: 'an oversized callback (9 kB)', params: (state) => ({ state, code: 'c', padding: 'a'.repeat(9_000) }), status: [414] },
    { name: 'an oversized callback (20 kB, past the header limit)', params: (state) => ({ state, code: 'c', padding: 'a'.repeat(20_000) }), status: [414, 431, 0] },
  ];
  for (const c of ignored) {
    it(`answers ${c.name} with ${c.status.join('/')} and keeps waiting; at --timeout exit 6, one line, no file changed`, async () => {
      const before = snapshotTree(dir.path);
      const login = await startLogin([], 2);
      const status = await hit(callbackUrl(login.opened.url, c.params(login.state)));
      expect(c.status).toContain(typeof status === 'number' ? status : 0);
      expect(front.tokenRequests).toHaveLength(0); // nothing was redeemed
      const result = await login.finish();
      expect(result.code, result.stderr).toBe(6);
      expectOneLineError(result.stderr, { message: /no sign-in within 2s/ });
      expect(await hit(callbackUrl(login.opened.url, { code: 'late', state: login.state }))).toBe('ECONNREFUSED');
      expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
    });
  }

  it('turns error=access_denied into exit 7 with one line, no file changed', async () => {
    const before = snapshotTree(dir.path);
    const login = await startLogin();
    expect(await hit(callbackUrl(login.opened.url, { state: login.state, error: 'access_denied', error_description: 'not in the allowed group' }))).toBe(200);
    const result = await login.finish();
    expect(result.code).toBe(7);
    expectOneLineError(result.stderr, { message: /refused the sign-in \(access_denied: not in the allowed group\)/ });
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
  });

  it('refuses a callback naming another issuer (RFC 9207 iss) with exit 5, before redeeming the code', async () => {
    const before = snapshotTree(dir.path);
    const login = await startLogin();
    expect(await hit(callbackUrl(login.opened.url, { state: login.state, code: 'c', iss: 'https://evil.example' }))).toBe(400);
    const result = await login.finish();
    expect(result.code).toBe(5);
    expectOneLineError(result.stderr, { message: /names issuer 'https:\/\/evil\.example'/ });
    expect(front.tokenRequests).toHaveLength(0);
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
  });

  it('refuses a token endpoint error (invalid_grant) with exit 5, one line, no file changed', async () => {
    const before = snapshotTree(dir.path);
    const login = await startLogin();
    front.answer = async () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'code already used' } });
    expect(await hit(callbackUrl(login.opened.url, { state: login.state, code: 'used' }))).toBe(502);
    const result = await login.finish();
    expect(result.code).toBe(5);
    expectOneLineError(result.stderr, { message: /rejected the authorization code exchange \(HTTP 400, invalid_grant: code already used\)/ });
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
  });

  it('refuses a token answer without an ID token with exit 5', async () => {
    const before = snapshotTree(dir.path);
    const login = await startLogin();
    front.answer = async () => ({ status: 200, body: { access_token: 'at-only-an-access-token', token_type: 'Bearer', expires_in: 60 } });
    await hit(callbackUrl(login.opened.url, { state: login.state, code: 'c' }));
    const result = await login.finish();
    expect(result.code).toBe(5);
    expectOneLineError(result.stderr, { message: /id_token|ID token/i });
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
  });
});

describe('Ctrl-C (SIGINT) in the middle of a login', () => {
  it('while waiting for the browser: exit 130, one line, kubeconfig unchanged, listener closed, no lock', async () => {
    const before = snapshotTree(dir.path);
    const login = await startLogin();
    login.cli.signal('SIGINT');
    const result = await login.finish();
    expect(result.code).toBe(130);
    expect(nonEmptyLines(result.stderr)).toEqual(['interrupted: nothing was written']);
    expect(await hit(callbackUrl(login.opened.url, { code: 'late', state: login.state }))).toBe('ECONNREFUSED');
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
  });

  it('while the code is being redeemed: exit 130, kubeconfig unchanged, no lock', async () => {
    const before = snapshotTree(dir.path);
    const login = await startLogin();
    let redeeming!: () => void;
    const redeemStarted = new Promise<void>((resolve) => (redeeming = resolve));
    const idToken = await front.mint({ nonce: login.nonce });
    front.answer = async () => {
      redeeming();
      await new Promise((r) => setTimeout(r, 3_000));
      return { status: 200, body: front.tokens(idToken) };
    };
    const callback = hit(callbackUrl(login.opened.url, { state: login.state, code: 'slow' }));
    await redeemStarted;
    login.cli.signal('SIGINT');
    const result = await login.finish();
    expect(result.code).toBe(130);
    expect(nonEmptyLines(result.stderr)).toEqual(['interrupted: nothing was written']);
    await callback;
    expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
  });
});

describe('the callback port', () => {
  // -q: without it the progress line "Signing in to prod at …" comes first (the port is taken after discovery)
  it('--listen-port on a port already in use: exit 2, one line naming the port, no file changed', async () => {
    const { createServer } = await import('node:net');
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', () => resolve()));
    const port = (busy.address() as { port: number }).port;
    try {
      const before = snapshotTree(dir.path);
      const run = await spawnCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '--listen-port', String(port), '--timeout', '5', '-q'], cleanEnv({ HOME: dir.path })).exited;
      expect(run.code).toBe(2);
      expectOneLineError(run.stderr, { message: new RegExp(`cannot listen for the sign-in callback on 127\\.0\\.0\\.1:${port}: the port is in use`) });
      expect(diffTrees(before, snapshotTree(dir.path)).filter((l) => !l.includes('opened-'))).toEqual([]);
    } finally {
      busy.close();
    }
  });
});
