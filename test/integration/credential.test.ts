// `k8s-auth credential` end to end: the built CLI against the Dex-shaped oidc-provider.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXEC_API_V1, EXEC_API_V1BETA1 } from '../../src/core/exec-credential.js';
import { CLUSTER, decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { cliEntry, runCli, type CliRun } from '../support/run-cli.js';
import { skipUnless } from '../support/skip.js';

interface ExecCredentialOut {
  kind: string;
  apiVersion: string;
  status: { token: string; expirationTimestamp: string };
}

function parseOut(run: CliRun): ExecCredentialOut {
  return JSON.parse(run.stdout) as ExecCredentialOut;
}

describe('credential: exec plugin against a real OIDC provider', () => {
  let fx: CredentialFixture;
  let expiredWithoutRefresh: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    expiredWithoutRefresh = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
  });
  afterAll(async () => {
    await fx?.close();
  });
  beforeEach(() => {
    fx.op.resetStats();
    fx.op.resetFaults();
    fx.op.setRefreshOmitsIdToken(false);
  });

  it('signs in with the password grant from the environment, caches 0600 in 0700, then answers from the cache', async () => {
    const env = fx.env({ K8S_AUTH_PASSWORD: 'jane-password', KUBERNETES_EXEC_INFO: execInfo(false, EXEC_API_V1BETA1) });
    const first = await runCli(fx.credentialArgs('--grant', 'password', '--username', 'jane@example.com'), env);
    expect(first.stderr).not.toContain('jane-password');
    expect(first.code, first.stderr).toBe(0);
    const out = parseOut(first);
    expect(out.kind).toBe('ExecCredential');
    expect(out.apiVersion).toBe(EXEC_API_V1BETA1);
    const claims = decodeClaims(out.status.token);
    expect(claims['email']).toBe('jane@example.com');
    expect(claims['groups']).toEqual(['developers']);
    expect(new Date(out.status.expirationTimestamp).getTime()).toBe((claims['exp'] as number) * 1000);
    expect(fx.op.stats.password).toBe(1);

    const file = fx.cacheFile();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(fx.cacheDir).mode & 0o777).toBe(0o700);
    const cached = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(cached['idToken']).toBe(out.status.token);
    expect(typeof cached['refreshToken']).toBe('string');
    expect(cached['user']).toBe('jane@example.com');

    const second = await runCli(fx.credentialArgs('--grant', 'password', '--username', 'jane@example.com'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false, EXEC_API_V1) }));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toBe('');
    expect(parseOut(second).status.token).toBe(out.status.token);
    expect(parseOut(second).apiVersion).toBe(EXEC_API_V1);
    expect(fx.op.stats.password).toBe(1);
  });

  it('reads the password from stdin, never from argv (checked in /proc/<pid>/cmdline)', async () => {
    fx.writeCache({ idToken: expiredWithoutRefresh });
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(true) });
    const child = spawn(process.execPath, [cliEntry, ...fx.credentialArgs('--grant', 'password', '--username', 'ops@example.com')], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('credential');
    const code = new Promise<number | null>((resolve) => child.on('close', resolve));
    // give the CLI time to reach the prompt, then read its cmdline again while it waits
    await new Promise((r) => setTimeout(r, 300));
    if (existsSync(`/proc/${child.pid}/cmdline`)) expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8')).not.toContain('ops-password');
    child.stdin.end('ops-password\n');
    expect(await code, stderr).toBe(0);
    expect(cmdline).not.toContain('ops-password');
    expect(stderr).not.toContain('ops-password');
    expect(decodeClaims(parseOut({ code: 0, stdout, stderr, ms: 0 }).status.token)['email']).toBe('ops@example.com');
    expect(fx.op.stats.password).toBe(1);
  });

  it.skipIf(skipUnless(existsSync('/usr/bin/script'), '/usr/bin/script (util-linux) is missing: cannot give the CLI a terminal', 'credential: password prompt on a terminal'))('on a terminal the password prompt does not echo (util-linux script gives a pty)', async () => {
    fx.writeCache({ idToken: expiredWithoutRefresh });
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, cliEntry, ...fx.credentialArgs('--grant', 'password', '--username', 'ops@example.com')].map(quote).join(' ');
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { env: fx.env({ KUBERNETES_EXEC_INFO: execInfo(true) }), stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let typed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      screen += d;
      if (!typed && screen.includes('Password for ops@example.com: ')) {
        typed = true;
        child.stdin.write('ops-password\r');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(code, screen).toBe(0);
    expect(typed).toBe(true);
    expect(screen).not.toContain('ops-password');
    const json = screen.slice(screen.indexOf('{"kind"')).trim();
    expect(decodeClaims((JSON.parse(json) as ExecCredentialOut).status.token)['email']).toBe('ops@example.com');
  });

  it('16 parallel calls with an expired token: one refresh, 16 identical valid tokens', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    fx.op.resetStats();
    // a slow token endpoint widens the race window: the other 15 must wait, not refresh
    fx.op.faults.tokenDelayMs = 300;
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) });
    const runs = await Promise.all(Array.from({ length: 16 }, () => runCli(fx.credentialArgs(), env, { timeoutMs: 60_000 })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.refresh_token).toBe(1);
    expect(fx.op.stats.tokenErrors).toBe(0);
    const tokens = new Set(runs.map((r) => parseOut(r).status.token));
    expect(tokens.size).toBe(1);
    const token = [...tokens][0] as string;
    expect(token).not.toBe(expired);
    const claims = decodeClaims(token);
    expect(claims['iss']).toBe(fx.op.issuer);
    expect(claims['aud']).toBe(fx.op.clientId);
    expect(claims['exp'] as number).toBeGreaterThan(Date.now() / 1000 + 600);
    // scopes were resent: the groups claim survived the refresh
    expect(claims['groups']).toEqual(['developers']);
    // the rotated refresh token was saved
    const cached = JSON.parse(readFileSync(fx.cacheFile(), 'utf8')) as Record<string, unknown>;
    expect(cached['refreshToken']).not.toBe(real.refreshToken);
    expect(cached['idToken']).toBe(token);
    expect(existsSync(`${fx.cacheFile()}.lock`)).toBe(false);
  });

  it('8 parallel calls with nothing cached: one sign-in (password from the environment), 8 identical tokens', async () => {
    fx.writeCache({ idToken: expiredWithoutRefresh });
    fx.op.resetStats();
    fx.op.faults.tokenDelayMs = 300;
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_PASSWORD: 'jane-password' });
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(fx.credentialArgs('--grant', 'password', '--username', 'jane@example.com'), env, { timeoutMs: 60_000 })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.password).toBe(1);
    expect(fx.op.stats.refresh_token).toBe(0);
    const tokens = new Set(runs.map((r) => parseOut(r).status.token));
    expect(tokens.size).toBe(1);
    expect(decodeClaims([...tokens][0] as string)['email']).toBe('jane@example.com');
    expect(existsSync(`${fx.cacheFile()}.lock`)).toBe(false);
  });

  it('a corrupt cache file is warned about once, then replaced by the new sign-in', async () => {
    await writeFile(fx.cacheFile(), '{not json', { mode: 0o600 });
    fx.op.resetStats();
    const run = await runCli(fx.credentialArgs('--grant', 'password', '--username', 'jane@example.com'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_PASSWORD: 'jane-password' }));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/ignoring token cache file/g)).toHaveLength(1);
    expect(fx.op.stats.password).toBe(1);
    expect((JSON.parse(readFileSync(fx.cacheFile(), 'utf8')) as { idToken: string }).idToken).toBe(parseOut(run).status.token);
  });

  it('refuses to sign in when kubectl says the run is not interactive: exit 10, no browser', async () => {
    fx.writeCache({ idToken: expiredWithoutRefresh });
    const marker = join(fx.dir, 'browser-was-opened');
    const opener = join(fx.dir, 'opener.sh');
    await writeFile(opener, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
    const run = await runCli(fx.credentialArgs('--browser-command', opener, '--grant', 'browser'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), DISPLAY: ':0' }));
    expect(run.code).toBe(10);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`k8s-auth login ${CLUSTER} --exec`);
    expect(run.stderr).toContain('no refresh token');
    expect(run.stderr).toContain('spec.interactive: false');
    expect(existsSync(marker)).toBe(false);
    expect(fx.op.stats.authorization_code + fx.op.stats.device_code).toBe(0);
  });

  it('--no-interactive refuses even when kubectl offers a terminal', async () => {
    fx.writeCache({ idToken: expiredWithoutRefresh });
    const run = await runCli(fx.credentialArgs('--no-interactive', '--grant', 'device-code'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(true) }));
    expect(run.code).toBe(10);
    expect(run.stderr).toContain('--no-interactive');
    expect(run.stderr).not.toContain('enter the code');
  });

  it('a refused refresh token does not open a browser; it says why', async () => {
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: 'not-a-valid-refresh-token' });
    const run = await runCli(fx.credentialArgs('--grant', 'browser', '--browser-command', '/bin/false'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code).toBe(10);
    expect(run.stderr).toMatch(/no longer accepts the cached refresh token \(invalid_grant/);
    expect(run.stderr).toContain(`k8s-auth login ${CLUSTER}`);
    expect(run.stderr).not.toContain('not-a-valid-refresh-token');
    expect(fx.op.stats.refresh_token).toBe(1);
  });

  it('a refresh answered without an ID token is a clear error, not a crash', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    fx.op.setRefreshOmitsIdToken(true);
    const run = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code).toBe(5);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('without an ID token');
    expect(run.stderr).not.toContain('unexpected failure');
    // the provider rotated the refresh token: the new one was kept, so a later refresh works
    const cached = JSON.parse(readFileSync(fx.cacheFile(), 'utf8')) as Record<string, unknown>;
    expect(cached['refreshToken']).not.toBe(real.refreshToken);
    expect(cached['idToken']).toBe(expired);
    fx.op.setRefreshOmitsIdToken(false);
    const again = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(again.code, again.stderr).toBe(0);
    expect(fx.op.stats.refresh_token).toBe(2);
  });

  it('refreshes a public client without the catalog, from the connection details in the cache', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    const caData = Buffer.from(fx.op.caPem).toString('base64');
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken, connection: { confidentialClient: false, idpCertificateAuthorityData: caData } });
    fx.op.resetStats();
    // no catalog at all (think: the Vault token behind it has expired)
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_CATALOG: join(fx.dir, 'gone.yaml') });
    const run = await runCli(fx.credentialArgs(), env);
    expect(run.code, run.stderr).toBe(0);
    expect(fx.op.stats.refresh_token).toBe(1);
    const cached = JSON.parse(readFileSync(fx.cacheFile(), 'utf8')) as Record<string, unknown>;
    expect(cached['idpCertificateAuthorityData']).toBe(caData);
    expect(cached['confidentialClient']).toBe(false);
    // a confidential client's secret is never cached: then the catalog is needed, and its absence is reported
    fx.writeCache({ idToken: expired, refreshToken: cached['refreshToken'] as string, connection: { confidentialClient: true } });
    const confidential = await runCli(fx.credentialArgs(), env);
    expect(confidential.code).toBe(3);
    expect(confidential.stderr).toContain('gone.yaml');
  });

  it('notices when the catalog no longer matches the identity in the exec args (exit 8)', async () => {
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: 'some-refresh-token' });
    const moved = join(fx.dir, 'moved.yaml');
    await writeFile(moved, readFileSync(fx.catalogFile, 'utf8').replace(`client-id: ${fx.op.clientId}`, 'client-id: another-client'));
    const run = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_CATALOG: moved }));
    expect(run.code).toBe(8);
    expect(run.stderr).toContain('another-client');
    expect(run.stderr).toContain(`k8s-auth login ${CLUSTER} --exec`);
    expect(fx.op.stats.refresh_token).toBe(0);
  });

  it('finds the identity in the catalog when the exec args do not name it', async () => {
    const real = await fx.realTokens();
    fx.writeCache({ idToken: real.idToken, refreshToken: real.refreshToken });
    const run = await runCli(['credential', CLUSTER, '--token-cache-dir', fx.cacheDir], fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code, run.stderr).toBe(0);
    expect(parseOut(run).status.token).toBe(real.idToken);
  });

  it('a bad KUBERNETES_EXEC_INFO or half the identity args is a usage error with nothing on stdout', async () => {
    const alpha = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1alpha1' }) }));
    expect(alpha.code).toBe(2);
    expect(alpha.stdout).toBe('');
    expect(alpha.stderr).toContain('v1alpha1');
    const half = await runCli(['credential', CLUSTER, '--issuer', fx.op.issuer], fx.env());
    expect(half.code).toBe(2);
    expect(half.stderr).toContain('go together');
  });
});
