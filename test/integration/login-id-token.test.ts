// ID token verification at login, against a minimal scripted provider on loopback http (the
// catalog allows http for a provider on this machine): a token signed by a key that is not in
// the provider's JWKS, or with the wrong audience, issuer, nonce or expiry, is refused with exit
// 5 and nothing is written; the well-formed one is accepted.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';

type Scenario = 'good' | 'foreign-key' | 'wrong-audience' | 'wrong-issuer' | 'wrong-nonce' | 'expired';

interface ScriptedProvider {
  issuer: string;
  /** The test names the scenario in the code it hands to the callback. */
  register(code: string, scenario: Scenario, nonce: string): void;
  close(): Promise<void>;
}

async function startScriptedProvider(): Promise<ScriptedProvider> {
  const published = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicJwk: JWK = { ...(await exportJWK(published.publicKey)), kid: 'published', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { scenario: Scenario; nonce: string }>();
  let issuer = '';
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
      });
    }
    if (url.pathname === '/keys') return json(res, 200, { keys: [publicJwk] });
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get('code') ?? '');
        if (!grant || !form.get('code_verifier')) return json(res, 400, { error: 'invalid_grant' });
        const now = Math.floor(Date.now() / 1000);
        const s = grant.scenario;
        void new SignJWT({ email: 'jane@example.com', groups: ['developers'], nonce: s === 'wrong-nonce' ? 'not-the-nonce' : grant.nonce })
          .setProtectedHeader({ alg: 'RS256', kid: 'published' })
          .setIssuer(s === 'wrong-issuer' ? 'http://127.0.0.1:1/other' : issuer)
          .setSubject('jane')
          .setAudience(s === 'wrong-audience' ? 'another-client' : 'k8s-auth')
          .setIssuedAt(s === 'expired' ? now - 7200 : now)
          .setExpirationTime(s === 'expired' ? now - 3600 : now + 3600)
          .sign(s === 'foreign-key' ? foreign.privateKey : published.privateKey)
          .then((idToken) => json(res, 200, { access_token: 'at-0123456789', token_type: 'Bearer', expires_in: 3600, id_token: idToken, refresh_token: 'rt-0123456789' }));
      });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    register: (code, scenario, nonce) => void codes.set(code, { scenario, nonce }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ID token verification at login', () => {
  let provider: ScriptedProvider;
  let dir: TempDir;
  let catalog: string;

  beforeAll(async () => {
    provider = await startScriptedProvider();
    dir = tempDir('k8s-auth-idtoken-');
    catalog = writeCatalog(dir.file('clusters.yaml'), { prod: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': 'k8s-auth' } });
  });
  afterAll(async () => {
    await provider?.close();
    dir?.remove();
  });

  async function loginWith(scenario: Scenario) {
    const kubeconfig = dir.file(`kubeconfig-${scenario}`);
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '--timeout', '20'], cleanEnv());
    const url = new URL(await cli.url);
    const state = String(url.searchParams.get('state'));
    provider.register(`code-${scenario}`, scenario, String(url.searchParams.get('nonce')));
    const callback = new URL(String(url.searchParams.get('redirect_uri')));
    callback.searchParams.set('code', `code-${scenario}`);
    callback.searchParams.set('state', state);
    const status = await get(callback.href);
    return { status, result: await cli.exited, written: existsSync(kubeconfig) };
  }

  it('accepts a token signed with the published key, for this client, with our nonce', async () => {
    const { status, result, written } = await loginWith('good');
    expect(status).toBe(200);
    expect(result.code, result.stderr).toBe(0);
    expect(written).toBe(true);
  });

  for (const [scenario, pattern] of [
    ['foreign-key', /^error: the ID token failed verification during the authorization code exchange: its signature does not match the provider's published keys \(JWKS\)$/],
    ['wrong-audience', /^error: the ID token failed verification during .*"aud" \(audience\)/],
    ['wrong-issuer', /^error: the ID token failed verification during .*"iss" \(issuer\)/],
    ['wrong-nonce', /^error: the ID token failed verification during .*"nonce"/],
    ['expired', /^error: the ID token failed its time checks during .*"exp".*: check this machine's clock$/],
  ] as const) {
    it(`refuses a token with ${scenario} (exit 5, nothing written)`, async () => {
      const { status, result, written } = await loginWith(scenario);
      expect(status).toBe(502);
      expect(result.code, result.stderr).toBe(5);
      const lines = result.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(written).toBe(false);
    });
  }
});
