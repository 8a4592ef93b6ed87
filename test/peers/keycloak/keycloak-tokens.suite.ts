// Tokens against a real Keycloak (test/peers/keycloak): exec-plugin renewal (one refresh for 16
// parallel kubectl-style calls, groups kept, counted by Keycloak's own REFRESH_TOKEN events),
// Keycloak's refresh-token reuse (allowed by default; refused once "Revoke Refresh Token" is
// on, as Dex rotates), a renewal whose granted scope Keycloak no longer accepts (invalid_scope:
// issue 13 defect 1's retry without a scope), and logout with RFC 7009 revocation: the old
// refresh token is dead at Keycloak afterwards. The Keycloak is the one keycloak.test.ts starts
// for all Keycloak suites (keycloak-shared.ts); this suite runs first there.
//
// An ID token "near its end" is made honestly: the sign-in happens while the realm's token
// lifespan is 30 s (under the plugin's 60 s skew), then the lifespan goes back to 300 s, so the
// next `credential` call must renew at Keycloak and the renewed token is fresh.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decodeClaims, execInfo } from '../../support/credential-fixture.js';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { runCli, type CliRun } from '../../support/run-cli.js';
import { skipUnless } from '../../support/skip.js';
import { keycloakAvailable, keycloakInstallHint, type KeycloakPeer } from './keycloak.js';
import { sharedKeycloak } from './keycloak-shared.js';

const skip = skipUnless(keycloakAvailable(), keycloakInstallHint);

interface ExecUser {
  name: string;
  user: { exec?: { command: string; args: string[]; env?: { name: string; value: string }[] | null }; 'auth-provider'?: { config: Record<string, string> } };
}

function kubeUsers(kubeconfig: string): ExecUser[] {
  return (parse(readFileSync(kubeconfig, 'utf8')) as { users: ExecUser[] }).users;
}

/** The one token cache entry in a cache dir (JSON as src/core/token-cache-entry.ts writes it). */
function cacheEntry(cacheDir: string): Record<string, unknown> & { refreshToken?: string; idToken: string } {
  const files = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
  if (files.length !== 1) throw new Error(`expected one cache entry in ${cacheDir}, found ${files.join(', ') || 'none'}`);
  return JSON.parse(readFileSync(join(cacheDir, files[0] as string), 'utf8')) as Record<string, unknown> & { refreshToken?: string; idToken: string };
}

function tokenOf(run: CliRun): string {
  return (JSON.parse(run.stdout) as { status: { token: string } }).status.token;
}

describe.skipIf(skip)('Keycloak: renewal, refresh-token reuse and logout', () => {
  let kc: KeycloakPeer;
  let dir: TempDir;
  let catalog: string;
  let n = 0;

  beforeAll(async () => {
    kc = sharedKeycloak();
    dir = tempDir('k8s-auth-keycloak-tokens-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      kc: { server: 'https://127.0.0.1:6443', 'issuer-url': kc.issuer, 'client-id': kc.publicClientId, 'idp-certificate-authority-data': base64(kc.caPem) },
    });
  }, 420_000);
  afterAll(async () => {
    dir?.remove();
  });

  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => cleanEnv({ HOME: dir.path, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: undefined, ...extra });

  /** `login kc --exec --grant password` as jane while tokens live 30 s; returns the files and the exec args kubectl would run. */
  async function signInNearExpiry(): Promise<{ kubeconfig: string; cacheDir: string; args: string[] }> {
    n += 1;
    const kubeconfig = dir.file(`exec-${n}.yaml`);
    const cacheDir = dir.file(`cache-${n}`);
    await kc.updateRealm({ accessTokenLifespan: 30 });
    try {
      const login = await runCli(['login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--exec', '--grant', 'password', '--username', 'jane', '--token-cache-dir', cacheDir], env({ K8S_AUTH_PASSWORD: 'jane-password' }), { timeoutMs: 60_000 });
      expect(login.code, login.stderr).toBe(0);
    } finally {
      await kc.updateRealm({ accessTokenLifespan: 300 });
    }
    const exec = kubeUsers(kubeconfig)[0]?.user.exec;
    if (!exec) throw new Error('login --exec wrote no exec user');
    return { kubeconfig, cacheDir, args: exec.args };
  }

  it('16 parallel exec calls with a token near its end: exactly one REFRESH_TOKEN at Keycloak, 16 identical fresh tokens that keep groups', async () => {
    const { cacheDir, args } = await signInNearExpiry();
    const before = cacheEntry(cacheDir);
    const first = decodeClaims(before.idToken);
    // Keycloak reads its clock twice (iat, then exp), so a second boundary between them gives 29
    const lifetime = (first['exp'] as number) - (first['iat'] as number);
    expect(lifetime).toBeGreaterThanOrEqual(29);
    expect(lifetime).toBeLessThanOrEqual(30);
    // Keycloak says what it granted: the same scopes as asked (groups is a client scope here), its own order
    expect(typeof before['grantedScope']).toBe('string');
    expect(String(before['grantedScope']).split(' ').sort()).toEqual(['email', 'groups', 'offline_access', 'openid', 'profile']);
    const refreshesBefore = (await kc.events('REFRESH_TOKEN', 'k8s-auth')).length;

    const runs = await Promise.all(Array.from({ length: 16 }, () => runCli(args, env({ KUBERNETES_EXEC_INFO: execInfo(false) }), { timeoutMs: 120_000 })));
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const tokens = new Set(runs.map(tokenOf));
    expect(tokens.size).toBe(1);
    const refreshEvents = await kc.events('REFRESH_TOKEN', 'k8s-auth');
    expect(refreshEvents.length - refreshesBefore).toBe(1);
    expect(await kc.events('REFRESH_TOKEN_ERROR', 'k8s-auth')).toHaveLength(0);
    process.stderr.write(`keycloak REFRESH_TOKEN event details: ${JSON.stringify(refreshEvents[0]?.details ?? {})}\n`);

    const claims = decodeClaims([...tokens][0] as string);
    expect(claims).toMatchObject({ iss: kc.issuer, aud: 'k8s-auth', email: 'jane@example.com', groups: ['developers'] });
    expect((claims['exp'] as number) - (claims['iat'] as number)).toBe(300);
    const after = cacheEntry(cacheDir);
    expect(after.idToken).toBe([...tokens][0]);
    // Keycloak hands out a new refresh token on every refresh (even without rotation enforced)
    expect(after.refreshToken).toBeDefined();
    expect(after.refreshToken).not.toBe(before.refreshToken);

    // Keycloak's default (Revoke Refresh Token off): the refresh token used before still works
    const reuse = await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: before.refreshToken as string });
    expect(reuse.status, JSON.stringify(reuse.body)).toBe(200);
  }, 300_000);

  it('with "Revoke Refresh Token" on (rotation, no reuse, as Dex): still one refresh for 16 callers; a replayed refresh token is refused and ends the session', async () => {
    await kc.updateRealm({ revokeRefreshToken: true, refreshTokenMaxReuse: 0 });
    try {
      const { cacheDir, args } = await signInNearExpiry();
      const before = cacheEntry(cacheDir);
      const refreshesBefore = (await kc.events('REFRESH_TOKEN', 'k8s-auth')).length;
      const errorsBefore = (await kc.events('REFRESH_TOKEN_ERROR', 'k8s-auth')).length;
      const runs = await Promise.all(Array.from({ length: 16 }, () => runCli(args, env({ KUBERNETES_EXEC_INFO: execInfo(false) }), { timeoutMs: 120_000 })));
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      expect(new Set(runs.map(tokenOf)).size).toBe(1);
      expect((await kc.events('REFRESH_TOKEN', 'k8s-auth')).length - refreshesBefore).toBe(1);
      expect((await kc.events('REFRESH_TOKEN_ERROR', 'k8s-auth')).length - errorsBefore).toBe(0);
      // the refresh token that was used is dead now
      const reuse = await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: before.refreshToken as string });
      expect(reuse.status).toBe(400);
      expect(reuse.body['error']).toBe('invalid_grant');
      process.stderr.write(`keycloak on a reused refresh token (revokeRefreshToken): ${JSON.stringify(reuse.body)}\n`);
      // reuse detection: that replay ended the client's session, so the saved (rotated) refresh
      // token is dead as well; a racing second refresher (kubectl's auth-provider has no lock)
      // would sign everybody out of this session
      const saved = await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: cacheEntry(cacheDir).refreshToken as string });
      expect(saved.status).toBe(400);
      expect(saved.body['error']).toBe('invalid_grant');
      process.stderr.write(`keycloak on the rotated refresh token after a replay: ${JSON.stringify(saved.body)}\n`);
    } finally {
      await kc.updateRealm({ revokeRefreshToken: false });
    }
  }, 300_000);

  it('renewal after the realm admin unassigned the groups scope: Keycloak answers invalid_scope to the granted scope, the retry without scope renews (issue 13 defect 1)', async () => {
    const { cacheDir, args } = await signInNearExpiry();
    const before = cacheEntry(cacheDir);
    expect(String(before['grantedScope']).split(' ')).toContain('groups');
    const clients = await kc.admin('GET', `/clients?clientId=${kc.publicClientId}`);
    const clientUuid = ((clients.body['value'] as { id: string }[])[0] as { id: string }).id;
    const scopes = await kc.admin('GET', '/client-scopes');
    const groupsScope = (scopes.body['value'] as { id: string; name: string }[]).find((s) => s.name === 'groups');
    if (!groupsScope) throw new Error('no groups client scope');
    expect((await kc.admin('DELETE', `/clients/${clientUuid}/default-client-scopes/${groupsScope.id}`)).status).toBe(204);
    try {
      const errorsBefore = (await kc.events('REFRESH_TOKEN_ERROR', 'k8s-auth')).length;
      const run = await runCli(args, env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_VERBOSE: '1' }), { timeoutMs: 60_000 });
      const allErrors = await kc.events('REFRESH_TOKEN_ERROR', 'k8s-auth');
      // newest first: the ones this renewal caused
      const refreshErrors = allErrors.slice(0, allErrors.length - errorsBefore);
      process.stderr.write(`keycloak refresh errors after unassigning groups: ${JSON.stringify(refreshErrors.map((e) => ({ error: e.error, details: e.details })))}\n`);
      expect(run.code, run.stderr).toBe(0);
      // exactly one refused refresh (the granted scope; Keycloak records it as invalid_request,
      // answers invalid_scope), then the retry without scope succeeded
      expect(refreshErrors).toHaveLength(1);
      expect(refreshErrors[0]?.details?.['reason']).toMatch(/^Invalid scopes: /);
      expect(run.stderr).toMatch(/invalid_scope/);
      const claims = decodeClaims(tokenOf(run));
      expect(claims['email']).toBe('jane@example.com');
      // the scope is gone from the client, so Keycloak no longer puts groups in the token
      expect(claims['groups']).toBeUndefined();
    } finally {
      await kc.admin('PUT', `/clients/${clientUuid}/default-client-scopes/${groupsScope.id}`);
    }
  }, 300_000);

  it('logout of an exec user revokes at Keycloak (RFC 7009): the cached refresh token, and the one before it, get invalid_grant', async () => {
    const { kubeconfig, cacheDir, args } = await signInNearExpiry();
    const signedIn = cacheEntry(cacheDir).refreshToken as string;
    // one renewal, so there are two refresh tokens of the same offline session
    const renewal = await runCli(args, env({ KUBERNETES_EXEC_INFO: execInfo(false) }), { timeoutMs: 60_000 });
    expect(renewal.code, renewal.stderr).toBe(0);
    const current = cacheEntry(cacheDir).refreshToken as string;
    expect(current).not.toBe(signedIn);

    const out = await runCli(['logout', 'kc', '--kubeconfig', kubeconfig], env(), { timeoutMs: 60_000 });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/refresh token revoked at the provider/);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(0);
    for (const token of [current, signedIn]) {
      const dead = await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: token });
      expect(dead.status).toBe(400);
      expect(dead.body['error']).toBe('invalid_grant');
    }
    process.stderr.write(`keycloak after logout: ${JSON.stringify((await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: current })).body)}\n`);
    // the next kubectl call may not interact: exit 10, no browser, says to sign in again
    const next = await runCli(args, env({ KUBERNETES_EXEC_INFO: execInfo(false) }), { timeoutMs: 60_000 });
    expect(next.code).toBe(10);
    expect(next.stderr).toMatch(/k8s-auth login kc --exec/);
  }, 300_000);

  it('logout of an auth-provider user (tokens in the kubeconfig) revokes too; the old refresh token is dead at Keycloak', async () => {
    const kubeconfig = dir.file('auth-provider.yaml');
    const login = await runCli(['login', 'kc', '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', 'ops'], env({ K8S_AUTH_PASSWORD: 'ops-password' }), { timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(0);
    const config = kubeUsers(kubeconfig)[0]?.user['auth-provider']?.config ?? {};
    const refresh = config['refresh-token'] as string;
    expect(refresh).toMatch(/^ey/);
    expect(decodeClaims(config['id-token'] as string)['groups']).toEqual(['admins', 'developers']);
    // alive before the logout
    const alive = await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh });
    expect(alive.status, JSON.stringify(alive.body)).toBe(200);

    const out = await runCli(['logout', 'kc', '--kubeconfig', kubeconfig], env(), { timeoutMs: 60_000 });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/Logged out of kc: removed the tokens of ops@example\.com@kc; refresh token revoked at the provider/);
    expect(Object.keys(kubeUsers(kubeconfig)[0]?.user['auth-provider']?.config ?? {})).not.toContain('refresh-token');
    const dead = await kc.tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh });
    expect(dead.status).toBe(400);
    expect(dead.body['error']).toBe('invalid_grant');
    expect(existsSync(`${kubeconfig}.lock`)).toBe(false);
  }, 180_000);
});
