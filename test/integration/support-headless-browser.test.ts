import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable } from '../support/browser.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { fetchTrusting, type TrustingFetch } from '../support/tls-fetch.js';

const SCRIPT = join(repoRoot, 'scripts', 'headless-browser.mjs');

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from spawn until our end of its stdout saw EOF, and until exit */
  stdoutClosedMs: number;
  exitMs: number;
}

function runScript(url: string, env: Record<string, string>): Promise<RunResult> {
  const started = Date.now();
  const child = spawn(process.execPath, [SCRIPT, url], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let stdoutClosedMs = -1;
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stdout.on('end', () => (stdoutClosedMs = Date.now() - started));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr, stdoutClosedMs, exitMs: Date.now() - started }));
  });
}

async function startCatcher(): Promise<{ redirectUri: string; next: Promise<URL>; server: Server }> {
  let resolveUrl!: (u: URL) => void;
  const next = new Promise<URL>((r) => (resolveUrl = r));
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body><h1>k8s-auth</h1><p>Logged in as the test user. You can close this tab.</p></body></html>');
    resolveUrl(new URL(req.url ?? '/', `http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`, next, server };
}

describe('support: scripts/headless-browser.mjs', () => {
  it('exits 3 with the install hint when chromium is missing', async () => {
    const r = await runScript('https://127.0.0.1:1/dex/auth', { K8S_AUTH_DEMO_CHROMIUM: '/nonexistent/chromium' });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe("chromium not found: install it with 'apt-get install chromium'\n");
    expect(r.stdout).toBe('');
  });

  it('exits 2 with one line when credentials are not in the environment', async () => {
    const r = await runScript('https://127.0.0.1:1/dex/auth', {});
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('K8S_AUTH_DEMO_LOGIN');
  });

  describe.skipIf(skipUnless(chromiumAvailable(), 'chromium not installed (apt-get install chromium)', 'support-headless-browser login'))('against the test provider', () => {
    let op: TestProvider;
    let trustingFetch: TrustingFetch;
    let config: client.Configuration;
    beforeAll(async () => {
      op = await startTestProvider();
      trustingFetch = fetchTrusting(op.caPem);
      config = await client.discovery(new URL(op.issuer), op.clientId, undefined, client.None(), {
        [client.customFetch]: trustingFetch as client.CustomFetch,
      });
    });
    afterAll(async () => {
      await trustingFetch?.close();
      await op?.close();
    });

    async function authUrl(redirectUri: string, verifier: string): Promise<string> {
      return client.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri, scope: 'openid email groups offline_access', state: 'st',
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      }).href;
    }

    it('signs in, lands on the loopback callback, prints its text to stderr, nothing to stdout', async () => {
      const catcher = await startCatcher();
      try {
        const verifier = client.randomPKCECodeVerifier();
        const r = await runScript(await authUrl(catcher.redirectUri, verifier), {
          K8S_AUTH_DEMO_LOGIN: 'jane@example.com',
          K8S_AUTH_DEMO_PASSWORD: 'jane-password',
        });
        expect(r.stderr).toContain('Logged in as the test user');
        expect(r.stderr).not.toContain('jane-password');
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('');
        // stdout was released at start-up, long before the browser work ended
        expect(r.stdoutClosedMs).toBeGreaterThanOrEqual(0);
        expect(r.stdoutClosedMs).toBeLessThan(r.exitMs - 300);
        const callback = await catcher.next;
        const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'st' });
        expect(tokens.claims()?.email).toBe('jane@example.com');
      } finally {
        catcher.server.close();
      }
    });

    it('fails with one line when the provider rejects the password', async () => {
      const catcher = await startCatcher();
      try {
        const r = await runScript(await authUrl(catcher.redirectUri, client.randomPKCECodeVerifier()), {
          K8S_AUTH_DEMO_LOGIN: 'jane@example.com',
          K8S_AUTH_DEMO_PASSWORD: 'wrong-password',
          K8S_AUTH_DEMO_TIMEOUT_SECONDS: '20',
        });
        expect(r.code).toBe(1);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toContain('rejected the login');
        expect(r.stderr).not.toContain('wrong-password');
        expect(r.stdout).toBe('');
      } finally {
        catcher.server.close();
      }
    });

    it('fails with one line when the loopback callback is not listening', async () => {
      const catcher = await startCatcher();
      const url = await authUrl(catcher.redirectUri, client.randomPKCECodeVerifier());
      await new Promise<void>((r) => catcher.server.close(() => r()));
      const r = await runScript(url, { K8S_AUTH_DEMO_LOGIN: 'ops', K8S_AUTH_DEMO_PASSWORD: 'ops-password', K8S_AUTH_DEMO_TIMEOUT_SECONDS: '20' });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/callback http:\/\/127\.0\.0\.1:\d+\/callback failed/);
      expect(r.stderr).not.toContain('code=');
    });
  });
});
