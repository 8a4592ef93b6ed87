// Whose token is it? Two people signed in at the same provider and client must never share, or
// overwrite, each other's cached sign-in (kubelogin's and gangway's users reported receiving
// each other's credentials). `login --exec` records who signed in as --login-hint, part of the
// token cache key; a later sign-in as anyone else is refused and nothing is stored. And the page
// in the browser never says "signed in" for a token the command then refuses.
import { existsSync, readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { runCli } from '../support/run-cli.js';
import { skipUnless } from '../support/skip.js';

const JANE = { login: 'jane@example.com', password: 'jane-password' };
const OPS = { login: 'ops@example.com', password: 'ops-password' };

interface ExecUser {
  name: string;
  user: { exec: { command: string; args: string[] } };
}

describe('one cached sign-in per person', () => {
  let fx: CredentialFixture;
  let dir: TempDir;
  let catalog: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    dir = tempDir('k8s-auth-identity-');
    // two clusters behind the same issuer and client
    const entry = { server: 'https://127.0.0.1:6443', 'issuer-url': fx.op.issuer, 'client-id': fx.op.clientId, 'idp-certificate-authority-data': base64(fx.op.caPem) };
    catalog = writeCatalog(dir.file('clusters.yaml'), { dev: entry, dev2: entry });
  });
  afterAll(async () => {
    await fx?.close();
    dir?.remove();
  });

  const loginExec = (cluster: string, kubeconfig: string, who: { login: string; password: string }, ...extra: string[]) =>
    runCli(
      ['login', cluster, '--exec', '--grant', 'password', '--username', who.login, '--kubeconfig', kubeconfig, '--catalog', catalog, '--token-cache-dir', fx.cacheDir, ...extra],
      fx.env({ K8S_AUTH_PASSWORD: who.password }),
    );

  /** Runs the kubeconfig user's exec args as kubectl would (no terminal). */
  async function credentialFor(kubeconfig: string, userName: string, env: Record<string, string> = {}) {
    const users = (parse(readFileSync(kubeconfig, 'utf8')) as { users: ExecUser[] }).users;
    const user = users.find((u) => u.name === userName);
    expect(user, `no user ${userName}`).toBeDefined();
    const args = user?.user.exec.args ?? [];
    return runCli(args, fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), ...env }));
  }

  it('jane on dev and ops on dev2 keep two cache files, and each kubeconfig user gets its own token', async () => {
    const kubeconfig = dir.file('kc-two-people');
    const jane = await loginExec('dev', kubeconfig, JANE, '--timeout', '45');
    expect(jane.code, jane.stderr).toBe(0);
    const ops = await loginExec('dev2', kubeconfig, OPS);
    expect(ops.code, ops.stderr).toBe(0);
    expect(jane.stderr).toContain(`cached in ${fx.cacheFile(JANE.login)}`);
    expect(ops.stderr).toContain(`cached in ${fx.cacheFile(OPS.login)}`);
    expect(fx.cacheFile(JANE.login)).not.toBe(fx.cacheFile(OPS.login));
    expect(existsSync(fx.cacheFile())).toBe(false); // nothing under the person-less key
    const users = (parse(readFileSync(kubeconfig, 'utf8')) as { users: ExecUser[] }).users;
    const argsOf = (name: string) => users.find((u) => u.name === name)?.user.exec.args ?? [];
    expect(argsOf('jane@example.com@dev').join(' ')).toContain(`--login-hint ${JANE.login}`);
    expect(argsOf('ops@example.com@dev2').join(' ')).toContain(`--login-hint ${OPS.login}`);
    // a --timeout typed at login is kept for kubectl's later sign-ins; defaults are not written
    expect(argsOf('jane@example.com@dev').join(' ')).toContain('--timeout 45');
    expect(argsOf('ops@example.com@dev2')).not.toContain('--timeout');

    for (const [userName, email] of [['jane@example.com@dev', JANE.login], ['ops@example.com@dev2', OPS.login]] as const) {
      const run = await credentialFor(kubeconfig, userName);
      expect(run.code, run.stderr).toBe(0);
      const token = (JSON.parse(run.stdout) as { status: { token: string } }).status.token;
      expect(decodeClaims(token)['email']).toBe(email);
    }
  });

  it("a new sign-in for jane's kubeconfig user as ops is refused (exit 7) and stores nothing", async () => {
    const kubeconfig = dir.file('kc-wrong-person');
    expect((await loginExec('dev', kubeconfig, JANE)).code).toBe(0);
    // jane's cached ID token has expired and there is no refresh token: the plugin signs in
    // again, and this time the password grant's account is ops (her args with --username ops)
    fx.writeCache({ idToken: await fx.op.mintIdToken({ email: JANE.login, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 }) }, JANE.login);
    const before = readFileSync(fx.cacheFile(JANE.login), 'utf8');
    const users = (parse(readFileSync(kubeconfig, 'utf8')) as { users: ExecUser[] }).users;
    const janeArgs = users.find((u) => u.name === 'jane@example.com@dev')?.user.exec.args ?? [];
    const asOps = janeArgs.map((arg, i) => (janeArgs[i - 1] === '--username' ? OPS.login : arg));
    expect(asOps).not.toEqual(janeArgs);
    fx.op.resetStats();
    const run = await runCli(asOps, fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_PASSWORD: OPS.password }));
    expect(fx.op.stats.password).toBe(1);
    expect(run.code, run.stderr).toBe(7);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/error: signed in as ops@example\.com, but the kubeconfig user for 'dev' belongs to jane@example\.com \(--login-hint\): nothing was stored/);
    expect(readFileSync(fx.cacheFile(JANE.login), 'utf8')).toBe(before);
  });

  it('login --exec --login-hint jane signed in as ops: exit 7, no kubeconfig user and no cache file', async () => {
    const kubeconfig = dir.file('kc-hint-mismatch');
    const run = await runCli(
      ['login', 'dev', '--exec', '--grant', 'password', '--username', OPS.login, '--login-hint', 'someone@example.com', '--kubeconfig', kubeconfig, '--catalog', catalog, '--token-cache-dir', fx.cacheDir],
      fx.env({ K8S_AUTH_PASSWORD: OPS.password }),
    );
    expect(run.code, run.stderr).toBe(7);
    expect(run.stderr).toMatch(/signed in as ops@example\.com, but the kubeconfig user for 'dev' belongs to someone@example\.com/);
    expect(existsSync(kubeconfig)).toBe(false);
    expect(existsSync(fx.cacheFile('someone@example.com'))).toBe(false);
  });
});

describe.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed'))('the browser page after the callback', () => {
  let fx: CredentialFixture;
  let browser: Browser;
  let dir: TempDir;
  let catalog: string;

  beforeAll(async () => {
    [fx, browser] = await Promise.all([startCredentialFixture(), launchChromium()]);
    dir = tempDir('k8s-auth-identity-page-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      nick: { server: 'https://127.0.0.1:6443', 'issuer-url': fx.op.issuer, 'client-id': fx.op.clientId, 'idp-certificate-authority-data': base64(fx.op.caPem), 'username-claim': 'upn' },
    });
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
    dir?.remove();
  });

  it('says why the sign-in cannot be used (no username claim), not "signed in", and the command exits 5', async () => {
    const kubeconfig = dir.file('kc-nick');
    const cli = startCli(['login', 'nick', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv({ HOME: dir.path }));
    const page = await signInWithBrowser(browser, await cli.url, JANE);
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(5);
    expect(result.stderr).toMatch(/has no 'upn' claim \(username-claim of cluster 'nick'\)/);
    expect(page.text).toContain('not usable');
    expect(page.text).toMatch(/has no 'upn' claim/);
    expect(page.text).not.toMatch(/signed in as/i);
    expect(existsSync(kubeconfig)).toBe(false);
  });
});
