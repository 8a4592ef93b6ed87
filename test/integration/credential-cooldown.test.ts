// Browser tabs from `credential` (issue 13): N parallel callers open at most one tab (the entry's
// lock lets one sign in; the others reuse its result); after a sign-in that failed or was
// abandoned, the callers queued behind it and the background callers that come next open no new
// tab for a cool-down (recorded next to the cache entry, K8S_AUTH_SIGNIN_COOLDOWN); `login`
// clears it. The "browser" is a --browser-command script that counts its invocations (and, for
// a sign-in that succeeds, hands the URL to headless Chromium).
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { chromiumAvailable } from '../support/browser.js';
import { CLUSTER, decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { runCli, type CliRun } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const JANE = 'jane@example.com';
const token = (run: CliRun): string => (JSON.parse(run.stdout) as { status: { token: string } }).status.token;

async function countingBrowser(dir: string, name: string, then?: string): Promise<{ command: string; count: () => number }> {
  const log = join(dir, `${name}.log`);
  const script = join(dir, `${name}.sh`);
  await writeFile(script, `#!/bin/sh\necho "$1" >> '${log}'\n${then ? `exec ${then} "$1"\n` : ''}`, { mode: 0o755 });
  return { command: script, count: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

describe('credential: one browser tab for N callers, and a cool-down after a failed sign-in', () => {
  let fx: CredentialFixture;
  let expired: string;
  const marker = () => `${fx.cacheFile(JANE)}.signin-failed`;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    expired = await fx.op.mintIdToken({ email: JANE, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
  });
  afterAll(async () => {
    await fx?.close();
  });
  beforeEach(() => {
    fx.op.resetStats();
  });

  /** kubectl offering a terminal (the case where a browser may open), a sign-in budget of `timeout` seconds. */
  const interactiveRun = (browserCommand: string, timeout: string, env: Record<string, string> = {}) =>
    runCli(fx.credentialArgs('--login-hint', JANE, '--grant', 'browser', '--browser-command', browserCommand, '--timeout', timeout), fx.env({ KUBERNETES_EXEC_INFO: execInfo(true), DISPLAY: ':0', ...env }), { timeoutMs: 60_000 });

  it('4 parallel callers, the person never finishes: one tab; the three queued behind it get exit 10, not a tab each', async () => {
    fx.writeCache({ idToken: expired }, JANE);
    const browser = await countingBrowser(fx.dir, 'abandoned');
    const runs = await Promise.all(Array.from({ length: 4 }, () => interactiveRun(browser.command, '3')));
    const codes = runs.map((r) => r.code).sort();
    expect(codes, runs.map((r) => r.stderr).join('\n---\n')).toEqual([10, 10, 10, 6]);
    expect(browser.count()).toBe(1);
    const timedOut = runs.find((r) => r.code === 6) as CliRun;
    expect(timedOut.stderr).toMatch(/^error: no sign-in within 3s/m);
    for (const run of runs.filter((r) => r.code === 10)) {
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^error: 'dev' needs a new sign-in, but the last one failed \d+s ago \(no sign-in within 3s[^)]*\): no new browser sign-in from credential for \d+s; run `k8s-auth login dev --exec` to sign in now$/m);
      expect(run.stderr).toMatch(/^hint: K8S_AUTH_SIGNIN_COOLDOWN=0 turns the pause off \(default 30s\)$/m);
    }
    // recorded next to the cache entry, 0600
    expect(existsSync(marker())).toBe(true);
    expect(JSON.parse(readFileSync(marker(), 'utf8'))).toMatchObject({ reason: expect.stringContaining('no sign-in within 3s') });
  });

  it('within the cool-down a later background caller opens no tab; K8S_AUTH_SIGNIN_COOLDOWN=0 lifts it; a malformed value is exit 2', async () => {
    const browser = await countingBrowser(fx.dir, 'later');
    const later = await interactiveRun(browser.command, '2');
    expect(later.code).toBe(10);
    expect(browser.count()).toBe(0);

    const lifted = await interactiveRun(browser.command, '2', { K8S_AUTH_SIGNIN_COOLDOWN: '0' });
    expect(lifted.code).toBe(6);
    expect(browser.count()).toBe(1);

    // a shorter pause, once over, lets the next caller try again (the lifted run failed just now)
    await new Promise((r) => setTimeout(r, 1100));
    const afterPause = await interactiveRun(browser.command, '1', { K8S_AUTH_SIGNIN_COOLDOWN: '1s' });
    expect(afterPause.code, afterPause.stderr).toBe(6);
    expect(browser.count()).toBe(2);

    const bad = await interactiveRun(browser.command, '2', { K8S_AUTH_SIGNIN_COOLDOWN: 'soon' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("error: K8S_AUTH_SIGNIN_COOLDOWN must be a number of seconds (or 90s, 2m; 0 for none), not 'soon'\n");
  });

  it('`login --exec` clears the cool-down', async () => {
    expect(existsSync(marker())).toBe(true);
    const login = await runCli(['login', CLUSTER, '--exec', '--grant', 'password', '--username', JANE, '--token-cache-dir', fx.cacheDir, '--kubeconfig', join(fx.dir, 'kubeconfig')], fx.env({ K8S_AUTH_PASSWORD: 'jane-password' }));
    expect(login.code, login.stderr).toBe(0);
    expect(existsSync(marker())).toBe(false);
  });

  const headless = join(repoRoot, 'scripts', 'headless-browser.mjs');
  it.skipIf(skipUnless(chromiumAvailable() && existsSync(headless), 'Debian chromium is not installed (/usr/bin/chromium)', 'credential-cooldown: browser sign-in'))(
    '4 parallel callers and a person who signs in: one tab, one sign-in, 4 identical tokens',
    async () => {
      fx.writeCache({ idToken: expired }, JANE);
      const browser = await countingBrowser(fx.dir, 'signs-in', `${process.execPath} ${headless}`);
      const env = { K8S_AUTH_DEMO_LOGIN: JANE, K8S_AUTH_DEMO_PASSWORD: 'jane-password' };
      const runs = await Promise.all(Array.from({ length: 4 }, () => interactiveRun(browser.command, '60', env)));
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      expect(browser.count()).toBe(1);
      expect(fx.op.stats.authorization_code).toBe(1);
      const tokens = new Set(runs.map(token));
      expect(tokens.size).toBe(1);
      expect(decodeClaims([...tokens][0] as string)['email']).toBe(JANE);
      expect(existsSync(marker())).toBe(false);
    },
    120_000,
  );
});
