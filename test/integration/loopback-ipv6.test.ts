// The loopback listener and `localhost` (issue 13; kubelogin #1151): a redirect naming
// localhost is answered on 127.0.0.1 AND ::1 (Node, and many browsers, resolve localhost to ::1
// first), and a host without IPv6 still signs in on 127.0.0.1. No IPv6 is simulated by making
// the ::1 bind fail the way Linux does without it (EADDRNOTAVAIL; EAFNOSUPPORT without IPv6 in
// the kernel): in-process with a patched Server.listen, and in the CLI through a --require hook.
import { request } from 'node:http';
import { Server, createServer, type AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../../src/adapters/loopback-server.js';
import { planRedirect } from '../../src/core/oauth-callback.js';
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumAvailable, chromiumPath, newPage, signInOnProviderPage } from '../support/browser.js';
import { base64, cleanEnv, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { skipUnless } from '../support/skip.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A GET to one address family with the Host a browser sends for localhost. */
function getVia(address: '127.0.0.1' | '::1', port: number, path: string): Promise<{ status: number; body: string; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, family: address === '::1' ? 6 : 4, port, path, headers: { host: `localhost:${port}` }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
        resolve({ status: res.statusCode ?? 0, body, headers });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const errorCode = (promise: Promise<unknown>): Promise<string> => promise.then(() => 'answered', (e: NodeJS.ErrnoException) => e.code ?? String(e));

function failIpv6Listen(code: 'EADDRNOTAVAIL' | 'EAFNOSUPPORT') {
  const original = Server.prototype.listen;
  return vi.spyOn(Server.prototype, 'listen').mockImplementation(function (this: Server, ...args: unknown[]) {
    const options = args[0] as { host?: string } | undefined;
    if (options && typeof options === 'object' && options.host === '::1') {
      process.nextTick(() => this.emit('error', Object.assign(new Error(`listen ${code}: address not available ::1`), { code, syscall: 'listen' })));
      return this;
    }
    return (original as (...a: unknown[]) => Server).apply(this, args);
  });
}

describe('loopback listener for a localhost redirect (in process)', () => {
  let server: LoopbackServer | undefined;
  afterEach(() => {
    server?.close();
    server = undefined;
    vi.restoreAllMocks();
  });
  const handler = () => ({ status: 200, html: 'ok\n' });

  it('answers on 127.0.0.1 and on ::1, same port, redirect URI naming localhost', async () => {
    const port = await freePort();
    server = await startLoopbackServer(planRedirect({ redirectUri: `http://localhost:${port}/callback` }), handler);
    expect(server.redirectUri).toBe(`http://localhost:${port}/callback`);
    expect((await getVia('127.0.0.1', port, '/callback')).body).toBe('ok\n');
    expect((await getVia('::1', port, '/callback')).body).toBe('ok\n');
  });

  for (const code of ['EADDRNOTAVAIL', 'EAFNOSUPPORT'] as const) {
    it(`a host without IPv6 (::1 bind fails with ${code}): 127.0.0.1 alone, same redirect URI`, async () => {
      const spy = failIpv6Listen(code);
      const port = await freePort();
      server = await startLoopbackServer(planRedirect({ redirectUri: `http://localhost:${port}/callback` }), handler);
      expect(spy.mock.calls.some((call) => (call[0] as { host?: string }).host === '::1')).toBe(true);
      expect(server.redirectUri).toBe(`http://localhost:${port}/callback`);
      expect((await getVia('127.0.0.1', port, '/callback')).body).toBe('ok\n');
      expect(await errorCode(getVia('::1', port, '/callback'))).toBe('ECONNREFUSED');
    });
  }

  it('any other ::1 failure (the port taken there) is reported, not skipped: a listener there would get the code', async () => {
    const port = await freePort();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '::1', resolve));
    try {
      await expect(startLoopbackServer(planRedirect({ redirectUri: `http://localhost:${port}/callback` }), handler)).rejects.toMatchObject({
        exitCode: 2,
        message: expect.stringContaining(`[::1]:${port}: the port is in use`),
      });
      // and 127.0.0.1 was let go again
      expect(await errorCode(getVia('127.0.0.1', port, '/callback'))).toBe('ECONNREFUSED');
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});

describe.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed', 'loopback-ipv6: login'))('login with a localhost redirect-uri, the browser reaching it over one family', () => {
  let provider: TestProvider;
  /** Chromium resolving localhost to ::1 only, and to 127.0.0.1 only */
  let viaIpv6: Browser;
  let viaIpv4: Browser;
  let dir: TempDir;
  let noIpv6Hook: string;
  let hookLog: string;

  beforeAll(async () => {
    const launch = (address: string) => chromium.launch({ executablePath: chromiumPath, headless: true, args: [...chromiumArgs, `--host-resolver-rules=MAP localhost ${address}`], timeout: 30_000 });
    [provider, viaIpv6, viaIpv4] = await Promise.all([startTestProvider(), launch('[::1]'), launch('127.0.0.1')]);
    dir = tempDir('k8s-auth-loopback-');
    hookLog = dir.file('no-ipv6.log');
    noIpv6Hook = dir.file('no-ipv6.cjs');
    // preloaded into the CLI: its ::1 bind fails as on a host without IPv6 (and says it ran)
    await writeFile(noIpv6Hook, `const net = require('node:net');
const fs = require('node:fs');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] && typeof args[0] === 'object' && args[0].host === '::1') {
    fs.appendFileSync(${JSON.stringify(hookLog)}, 'refused ::1\\n');
    process.nextTick(() => this.emit('error', Object.assign(new Error('listen EADDRNOTAVAIL: address not available ::1'), { code: 'EADDRNOTAVAIL', syscall: 'listen' })));
    return this;
  }
  return listen.apply(this, args);
};
`);
  });
  afterAll(async () => {
    await viaIpv6?.close();
    await viaIpv4?.close();
    await provider?.close();
    dir?.remove();
  });

  /** Signs in; the browser delivers the redirect to localhost over the one family it resolves localhost to. */
  async function signInOver(family: '127.0.0.1' | '::1', env: NodeJS.ProcessEnv, timeout = '60'): Promise<{ code: number | null; stderr: string; kubeconfig: string }> {
    const port = await freePort();
    const catalog = writeCatalog(dir.file(`clusters-${port}.yaml`), {
      loop: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'redirect-uri': `http://localhost:${port}/callback`, 'idp-certificate-authority-data': base64(provider.caPem) },
    });
    const kubeconfig = dir.file(`kubeconfig-${port}`);
    const cli = startCli(['login', 'loop', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser', '--verbose', '--timeout', timeout], env);
    const url = await cli.url;
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(`http://localhost:${port}/callback`);
    const page = await newPage(family === '::1' ? viaIpv6 : viaIpv4);
    try {
      await page.goto(url);
      await signInOnProviderPage(page, { login: 'jane@example.com', password: 'jane-password' });
      await page.waitForSelector('main h1', { timeout: 10_000 }).catch(() => undefined);
    } finally {
      await page.context().close();
    }
    const done = await cli.exited;
    return { code: done.code, stderr: done.stderr, kubeconfig };
  }

  it('with IPv6: the callback arrives on ::1 and the login succeeds', async () => {
    const result = await signInOver('::1', cleanEnv());
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(result.kubeconfig, 'utf8')).toContain('jane@example.com@loop');
    expect(result.stderr).not.toContain('listening on 127.0.0.1 only');
  });

  it('without IPv6 (::1 bind refused): listens on 127.0.0.1 only, the callback arrives there, the login succeeds', async () => {
    const result = await signInOver('127.0.0.1', cleanEnv({ NODE_OPTIONS: `--require ${noIpv6Hook}` }));
    expect(existsSync(hookLog)).toBe(true);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('debug: loopback: no ::1 on this host (EADDRNOTAVAIL); listening on 127.0.0.1 only');
    expect(readFileSync(result.kubeconfig, 'utf8')).toContain('jane@example.com@loop');
  });

  it('control: without IPv6, a browser that reaches localhost only over ::1 cannot deliver the callback (so the cases above went where they say)', async () => {
    const result = await signInOver('::1', cleanEnv({ NODE_OPTIONS: `--require ${noIpv6Hook}` }), '5');
    expect(result.code).toBe(6);
    expect(existsSync(result.kubeconfig)).toBe(false);
  });
});
