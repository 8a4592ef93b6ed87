// How login reaches the browser and the provider: --browser-command and $BROWSER (no shell, the
// URL as the last argument), a launcher that fails (the URL is printed and the login waits), the
// demo's headless browser command, and the provider's TLS trust (--certificate-authority,
// --insecure-skip-tls-verify).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrowserOpener } from '../../src/adapters/browser-launcher.js';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, waitForFile, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const skip = skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed');

describe.skipIf(skip)('opening the browser and trusting the provider', () => {
  let provider: TestProvider;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;
  let recorder: string;
  const jane = { login: 'jane@example.com', password: 'jane-password' };

  beforeAll(async () => {
    [provider, browser] = await Promise.all([startTestProvider(), launchChromium()]);
    dir = tempDir('k8s-auth-browser-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem) },
      noca: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId },
    });
    // a "browser" that records the argv it was given (as JSON, one line) in the file named by RECORD_TO
    recorder = dir.file('recorder.mjs');
    writeFileSync(recorder, "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.RECORD_TO, JSON.stringify(process.argv.slice(2)) + '\\n');\n");
  });
  afterAll(async () => {
    await browser?.close();
    await provider?.close();
    dir?.remove();
  });

  it('runs --browser-command without a shell, with the URL as the last argument', async () => {
    const record = dir.file('argv-flag.json');
    const command = `node ${recorder} --new-window 'two words' "$HOME;echo"`;
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('k1'), '--browser-command', command], cleanEnv({ RECORD_TO: record }));
    const argv = JSON.parse(await waitForFile(record)) as string[];
    expect(argv.slice(0, 3)).toEqual(['--new-window', 'two words', '$HOME;echo']);
    const url = new URL(argv[3] as string);
    expect(url.href.startsWith(`${provider.issuer}/auth?`)).toBe(true);
    expect(argv).toHaveLength(4);
    await signInWithBrowser(browser, url.href, jane);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    // the URL is not printed when a browser command took it
    expect(result.stderr).not.toContain('/auth?');
  });

  it('uses $BROWSER when no --browser-command is given', async () => {
    const record = dir.file('argv-env.json');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('k2')], cleanEnv({ RECORD_TO: record, BROWSER: `node ${recorder}` }));
    const argv = JSON.parse(await waitForFile(record)) as string[];
    expect(argv).toHaveLength(1);
    await signInWithBrowser(browser, argv[0] as string, jane);
    expect((await cli.exited).code).toBe(0);
  });

  it('prints the URL and keeps waiting when the browser command cannot run', async () => {
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('k3'), '--browser-command', dir.file('no-such-browser')], cleanEnv());
    const url = await cli.url;
    expect(cli.stderr()).toMatch(/Could not run the browser command .*no-such-browser/);
    await signInWithBrowser(browser, url, jane);
    expect((await cli.exited).code).toBe(0);
  });

  it('prints the URL instead of launching anything on Linux without a display', async () => {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await createBrowserOpener({ env: {}, platform: 'linux' })('https://idp.invalid/auth?state=s');
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toBe('No display to open a browser on (DISPLAY and WAYLAND_DISPLAY are unset).\nOpen this URL in a browser to sign in:\n\n  https://idp.invalid/auth?state=s\n\n');
  });

  it("signs in with the demo's headless browser command (credentials from the environment only)", async () => {
    const kubeconfig = dir.file('k5');
    const script = join(repoRoot, 'scripts', 'headless-browser.mjs');
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', kubeconfig, '--browser-command', `node ${script}`], cleanEnv({ K8S_AUTH_DEMO_LOGIN: 'ops@example.com', K8S_AUTH_DEMO_PASSWORD: 'ops-password' }), 90_000);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/Signed in to prod as ops@example\.com/);
    expect(readFileSync(kubeconfig, 'utf8')).toContain('name: ops@example.com@prod');
  });

  it('trusts the provider only with its CA: catalog data, --certificate-authority, or an explicit, warned opt-out', async () => {
    const untrusted = await startCli(['login', 'noca', '--catalog', catalog, '--kubeconfig', dir.file('k6'), '--no-browser'], cleanEnv()).exited;
    expect(untrusted.code).toBe(5);
    expect(untrusted.stderr).toMatch(/TLS certificate of identity provider at .* is not trusted .*pass its CA with --certificate-authority FILE, or put it in the catalog entry.s idp-certificate-authority-data rather than disabling verification/);

    const withFlag = startCli(['login', 'noca', '--catalog', catalog, '--kubeconfig', dir.file('k7'), '--no-browser', '--certificate-authority', provider.caFile], cleanEnv());
    await signInWithBrowser(browser, await withFlag.url, jane);
    expect((await withFlag.exited).code).toBe(0);

    const insecure = startCli(['login', 'noca', '--catalog', catalog, '--kubeconfig', dir.file('k8'), '--no-browser', '--insecure-skip-tls-verify'], cleanEnv());
    await signInWithBrowser(browser, await insecure.url, jane);
    const result = await insecure.exited;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: TLS verification is OFF for the identity provider/);
  });
});
