// Renewal against oidc-provider configured two more ways (issue 13):
//  - a provider that grants fewer scopes than asked (it drops `federated:id`, as a provider that
//    does not know Dex's scope would) and answers a refresh asking for more with invalid_scope,
//    as Dex and Keycloak do: the refresh sends exactly the granted scope; an entry written before
//    the granted scope was stored retries once without a scope parameter; groups survive;
//  - Dex's one refresh token per user and client: a sign-in elsewhere (or an admin's revocation)
//    ends this one; the next renewal says so in one line, and signs in again only when it may.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/adapters/atomic-file.js';
import { chromiumAvailable } from '../support/browser.js';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { runCli, type CliRun } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';
import { fetchTrusting, type TrustingFetch } from '../support/tls-fetch.js';

const token = (run: CliRun): string => (JSON.parse(run.stdout) as { status: { token: string } }).status.token;
const readEntry = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
const sorted = (scope: unknown): string[] => String(scope).split(' ').filter(Boolean).sort();

/** A --browser-command that records each invocation (one line per URL) and then runs `then` (or nothing). */
async function countingBrowser(dir: string, name: string, then?: string): Promise<{ command: string; count: () => number }> {
  const log = join(dir, `${name}.log`);
  const script = join(dir, `${name}.sh`);
  await writeFile(script, `#!/bin/sh\necho "$1" >> '${log}'\n${then ? `exec ${then} "$1"\n` : ''}`, { mode: 0o755 });
  return { command: script, count: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0) };
}

/** Replaces the cached ID token with an expired one, keeping every other field as the CLI wrote it. */
async function expireInPlace(fx: CredentialFixture, email = 'jane@example.com'): Promise<string> {
  const entry = readEntry(fx.cacheFile());
  const expired = await fx.op.mintIdToken({ email, issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
  writeFileAtomic(fx.cacheFile(), `${JSON.stringify({ ...entry, idToken: expired }, null, 2)}\n`);
  return expired;
}

describe('credential renewal: a provider that grants fewer scopes than asked', () => {
  let fx: CredentialFixture;
  let trusting: TrustingFetch;

  beforeAll(async () => {
    fx = await startCredentialFixture({ provider: { withholdScopes: ['federated:id'] }, extraScopes: ['federated:id'] });
    trusting = fetchTrusting(fx.op.caPem);
  });
  afterAll(async () => {
    await trusting?.close();
    await fx?.close();
  });
  beforeEach(() => {
    fx.op.resetStats();
    fx.op.resetFaults();
  });

  it('the variant behaves like Dex/Keycloak: grants less, and a refresh asking for the requested scopes is invalid_scope', async () => {
    const config = await client.discovery(new URL(fx.op.issuer), fx.op.clientId, undefined, client.None(), { [client.customFetch]: trusting as client.CustomFetch });
    const signedIn = await client.genericGrantRequest(config, 'password', { username: 'jane@example.com', password: 'jane-password', scope: fx.scopes.join(' ') });
    expect(sorted(signedIn.scope)).toEqual(fx.scopes.filter((s) => s !== 'federated:id').sort());
    await expect(client.refreshTokenGrant(config, signedIn.refresh_token as string, { scope: fx.scopes.join(' ') })).rejects.toMatchObject({
      error: 'invalid_scope',
      error_description: 'refresh token missing requested scope',
    });
  });

  it('stores the granted scope at sign-in and sends exactly it on refresh: one request, no error, groups kept', async () => {
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_PASSWORD: 'jane-password' });
    const signIn = await runCli(fx.credentialArgs('--grant', 'password', '--username', 'jane@example.com'), env);
    expect(signIn.code, signIn.stderr).toBe(0);
    const written = readEntry(fx.cacheFile());
    expect(sorted(written['grantedScope'])).toEqual(['email', 'groups', 'offline_access', 'openid', 'profile']);
    // the key stays what was asked for: the exec args and the catalog name it
    expect(written['scopes']).toEqual([...fx.scopes].sort());

    const expired = await expireInPlace(fx);
    fx.op.resetStats();
    const renewed = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stderr).toBe('');
    expect(fx.op.refreshScopes).toEqual([written['grantedScope']]);
    expect(fx.op.stats.refresh_token).toBe(1);
    expect(fx.op.stats.tokenErrors).toBe(0);
    const claims = decodeClaims(token(renewed));
    expect(token(renewed)).not.toBe(expired);
    expect(claims['groups']).toEqual(['developers']);
    expect(claims['email']).toBe('jane@example.com');
    expect(readEntry(fx.cacheFile())['grantedScope']).toBe(written['grantedScope']);
  });

  it('an entry from before the granted scope was stored: invalid_scope, then once more without scope; the grant is stored', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    expect(readEntry(fx.cacheFile())['grantedScope']).toBeUndefined();
    fx.op.resetStats();
    const run = await runCli(fx.credentialArgs('--verbose'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code, run.stderr).toBe(0);
    expect(fx.op.refreshScopes).toEqual([[...fx.scopes].sort().join(' '), null]);
    expect(fx.op.stats.tokenErrors).toBe(1);
    expect(run.stderr).toMatch(/refused scope ".*federated:id.*" on refresh \(invalid_scope: refresh token missing requested scope\); once more without a scope parameter/);
    expect(decodeClaims(token(run))['groups']).toEqual(['developers']);
    const stored = readEntry(fx.cacheFile());
    expect(sorted(stored['grantedScope'])).toEqual(['email', 'groups', 'offline_access', 'openid', 'profile']);

    // and the next renewal sends the stored grant at once
    await expireInPlace(fx);
    fx.op.resetStats();
    const next = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(next.code, next.stderr).toBe(0);
    expect(fx.op.refreshScopes).toEqual([stored['grantedScope']]);
    expect(fx.op.stats.tokenErrors).toBe(0);
  });

  it('8 parallel calls on an old entry, kubectl offering a terminal: none fails, one renewal, no browser', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    const browser = await countingBrowser(fx.dir, 'parallel-browser');
    fx.op.resetStats();
    fx.op.faults.tokenDelayMs = 200;
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(true), DISPLAY: ':0' });
    const runs = await Promise.all(Array.from({ length: 8 }, () => runCli(fx.credentialArgs('--grant', 'browser', '--browser-command', browser.command), env, { timeoutMs: 60_000 })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(browser.count()).toBe(0);
    expect(fx.op.stats.authorization_code).toBe(0);
    // one renewal: the refused scope and the retry without it, then seven callers reuse the result
    expect(fx.op.refreshScopes).toEqual([[...fx.scopes].sort().join(' '), null]);
    const tokens = new Set(runs.map(token));
    expect(tokens.size).toBe(1);
    expect(decodeClaims([...tokens][0] as string)['groups']).toEqual(['developers']);
  });
});

describe("credential renewal: Dex's one refresh token per user and client", () => {
  let fx: CredentialFixture;

  beforeAll(async () => {
    fx = await startCredentialFixture({ provider: { oneRefreshTokenPerUser: true } });
  });
  afterAll(async () => {
    await fx?.close();
  });
  beforeEach(() => {
    fx.op.resetStats();
  });

  async function cachedThenReplacedElsewhere(): Promise<void> {
    const here = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: here.refreshToken });
    // jane signs in on another machine: the provider ends this machine's refresh token
    await fx.realTokens();
    fx.op.resetStats();
  }

  const replacedLine = /^error: 'dev' needs a new sign-in: the provider no longer accepts the cached refresh token \(invalid_grant[^)]*\): it was revoked or expired, or a sign-in with the same account and client elsewhere replaced it\. This run may not interact, so no browser was opened: run `k8s-auth login dev --exec`$/m;

  it('a sign-in elsewhere: the next background renewal says so in one line and exits 10 with a hint, no browser', async () => {
    await cachedThenReplacedElsewhere();
    const browser = await countingBrowser(fx.dir, 'dex-background');
    const run = await runCli(fx.credentialArgs('--grant', 'browser', '--browser-command', browser.command), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), DISPLAY: ':0' }));
    expect(run.code).toBe(10);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(replacedLine);
    expect(lines[1]).toBe('hint: not interactive because kubectl says this run has no terminal (spec.interactive: false)');
    expect(fx.op.stats.refresh_token).toBe(1);
    expect(browser.count()).toBe(0);
  });

  it("an admin's revocation of the grant reads the same", async () => {
    const here = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: here.refreshToken });
    expect(await fx.op.revokeGrantsOf('jane@example.com')).toBeGreaterThan(0);
    fx.op.resetStats();
    const run = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code).toBe(10);
    expect(run.stderr).toMatch(replacedLine);
  });

  const headless = join(repoRoot, 'scripts', 'headless-browser.mjs');
  it.skipIf(skipUnless(chromiumAvailable() && existsSync(headless), 'Debian chromium is not installed (/usr/bin/chromium)', 'credential-renewal: interactive sign-in'))(
    'where it may interact, it says why in one line and signs in again (one browser tab)',
    async () => {
      await cachedThenReplacedElsewhere();
      const browser = await countingBrowser(fx.dir, 'dex-interactive', `${process.execPath} ${headless}`);
      const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(true), DISPLAY: ':0', K8S_AUTH_DEMO_LOGIN: 'jane@example.com', K8S_AUTH_DEMO_PASSWORD: 'jane-password' });
      const run = await runCli(fx.credentialArgs('--grant', 'browser', '--browser-command', browser.command), env, { timeoutMs: 90_000 });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/^signing in to 'dev': the provider no longer accepts the cached refresh token \(invalid_grant[^)]*\): it was revoked or expired, or a sign-in with the same account and client elsewhere replaced it$/m);
      expect(browser.count()).toBe(1);
      expect(fx.op.stats.authorization_code).toBe(1);
      expect(decodeClaims(token(run))['email']).toBe('jane@example.com');
      expect(readEntry(fx.cacheFile())['idToken']).toBe(token(run));
    },
    120_000,
  );
});

