// The browser sign-in from the exec plugin, without opening a browser (--no-browser): the URL is
// printed on stderr, the loopback listener waits on a fixed --listen-port (what `ssh -L` forwards),
// and a person (Chromium) signs in. stdout carries the ExecCredential and nothing else.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { signInWithBrowser, startCli } from '../support/login-harness.js';
import { skipUnless } from '../support/skip.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium is not installed (/usr/bin/chromium)'))('credential: loopback sign-in with --no-browser', () => {
  let fx: CredentialFixture;
  let browser: Browser;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('prints the URL, waits on the fixed port, and answers the ExecCredential once signed in', async () => {
    const port = await freePort();
    fx.op.resetStats();
    const cli = startCli(fx.credentialArgs('--no-browser', '--listen-port', String(port)), fx.env({ KUBERNETES_EXEC_INFO: execInfo(true), DISPLAY: ':0' }));
    const url = await cli.url;
    const redirect = new URL(new URL(url).searchParams.get('redirect_uri') ?? '');
    expect(redirect.port).toBe(String(port));
    expect(redirect.hostname).toBe('127.0.0.1');
    expect(cli.stderr()).toContain('--no-browser');
    const page = await signInWithBrowser(browser, url, { login: 'jane@example.com', password: 'jane-password' });
    expect(page.status).toBe(200);
    const done = await cli.exited;
    expect(done.code, done.stderr).toBe(0);
    const out = JSON.parse(done.stdout) as { status: { token: string } };
    expect(decodeClaims(out.status.token)['email']).toBe('jane@example.com');
    expect(done.stdout.trim().split('\n')).toHaveLength(1);
    expect(fx.op.stats.authorization_code).toBe(1);
  });
});
