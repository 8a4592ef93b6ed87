// The system's way of opening a browser (the `open` package, xdg-open on Linux) when a display
// is set and neither --browser-command nor $BROWSER is: the sign-in page goes to the browser
// xdg-open picks, and the URL is printed as well, since an opener can succeed while no window
// ever appears.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64, cleanEnv, startCli, tempDir, waitForFile, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';

describe('login through the system opener', () => {
  let provider: TestProvider;
  let dir: TempDir;
  let catalog: string;
  let bin: string;

  beforeAll(async () => {
    provider = await startTestProvider();
    dir = tempDir('k8s-auth-system-opener-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      prod: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem) },
    });
    // a "browser" that xdg-open's generic mode finds on PATH (x-www-browser); it records the URL
    // and shows nothing
    bin = dir.file('bin');
    mkdirSync(bin);
    const browser = `${bin}/x-www-browser`;
    writeFileSync(browser, `#!/bin/sh\nprintf '%s\\n' "$*" > "${dir.file('opened.txt')}"\n`);
    chmodSync(browser, 0o755);
    // no desktop default for https (the machine's xdg-mime would name its Chromium .desktop)
    writeFileSync(`${bin}/xdg-mime`, '#!/bin/sh\nexit 0\n');
    chmodSync(`${bin}/xdg-mime`, 0o755);
  });
  afterAll(async () => {
    await provider?.close();
    dir?.remove();
  });

  it('hands the authorization URL to the system opener and still prints it on stderr', async () => {
    const env = cleanEnv({
      HOME: dir.path,
      DISPLAY: ':99',
      WAYLAND_DISPLAY: undefined,
      BROWSER: undefined,
      XDG_CURRENT_DESKTOP: undefined,
      DESKTOP_SESSION: undefined,
      PATH: `${bin}:/usr/bin:/bin`,
    });
    const cli = startCli(['login', 'prod', '--catalog', catalog, '--kubeconfig', dir.file('kubeconfig'), '--timeout', '4'], env, 30_000);
    const opened = (await waitForFile(dir.file('opened.txt')).catch((e: Error) => { throw new Error(`${e.message}; stderr: ${cli.stderr()}`); })).trim();
    const result = await cli.exited;
    // nobody signs in: the login gives up after --timeout with its own exit code
    expect(result.code, result.stderr).toBe(6);
    const url = new URL(opened);
    expect(`${url.origin}${url.pathname}`).toBe(`${provider.issuer}/auth`);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(result.stderr).toContain('Opening the sign-in page in your browser. If nothing opens, use this URL:');
    expect(result.stderr).toContain(`  ${opened}\n`);
    expect(result.stdout).toBe('');
    expect(existsSync(dir.file('kubeconfig'))).toBe(false);
  });
});
