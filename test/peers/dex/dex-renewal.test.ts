// Renewal and sign-out against real Dex (LDAP behind it), with Dex's default refresh-token
// rotation (no reuse window) and short ID tokens (expiry.idTokens 40s; every k8s-auth run here,
// and kubectl's exec plugin runs through their environment, renews 20s before expiry
// (K8S_AUTH_SKEW=20), so a token is due 20s after it was issued and a renewed one stays fresh
// for 20s; the kubectl test's token is really expired 40s after beforeAll signed it in):
// - 16 parallel `credential` runs (the exec plugin as kubectl runs it) with a due ID token make
//   exactly one refresh at Dex, no failure, and the renewed ID token still carries the LDAP groups;
// - a sign-in with the same account and client on "another machine" ends the first machine's
//   refresh token (Dex keeps one per user, connector and client): the next renewal there says so
//   in one line and exits 10 when it may not interact, and signs in again where it may;
// - 16 parallel kubectl 1.32 `get` calls against the real 1.20 kube-apiserver (legacy --oidc-*
//   flags pointing at Dex) with an expired ID token: one refresh, every call served;
// - logout: Dex has no RFC 7009 revocation endpoint, so k8s-auth says the refresh token stays
//   valid there, and it does.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium } from '../../support/browser.js';
import { decodeClaims, execInfo } from '../../support/credential-fixture.js';
import { base64, cleanEnv, startCli, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { cliEntry, runCli, type CliRun } from '../../support/run-cli.js';
import { kubectlPaths, skipUnless } from '../../support/skip.js';
import { fetchTrusting } from '../../support/tls-fetch.js';
import { apiRequest } from '../../cluster/api-client.js';
import { controlPlaneBinaries, startControlPlane, waitForOidcAuthenticator, type ControlPlane } from '../../cluster/control-plane.js';
import { DEFAULT_LDAP_USERS, startSlapd, type SlapdPeer } from '../slapd/slapd.js';
import { dexAvailable, dexVersion, startDex, type DexPeer } from './dex.js';
import { approveOnDex, signInAtAuthUrl } from './dex-pages.js';

const execFileP = promisify(execFile);
const CLUSTER = 'dev';
const PARALLEL = 16;
const ID_TOKEN_TTL_S = 40;
// k8s-auth's --skew (K8S_AUTH_SKEW) for every run in this file: smaller than the lifetime by a
// margin (20s) that 16 parallel runs on a loaded machine need to finish on one renewed token,
// and no more, so that a token is due after 20s instead of the 30s of the default skew (60s)
// against 90s tokens; the lifetime bounds the kubectl test's wait for a really expired token
const SKEW_S = 20;

const skip = skipUnless(dexAvailable() && chromiumAvailable(), `Dex ${dexVersion} (bash test/peers/dex/install.sh), Debian slapd or Debian chromium is missing`);
const kubectl132 = kubectlPaths().v1_32;
const controlPlane = controlPlaneBinaries();
const skipKubectl = skipUnless(controlPlane.ok && kubectl132.available, `the 1.20 control plane (${controlPlane.ok ? 'ok' : controlPlane.missing}) or kubectl 1.32 (scripts/fetch-kubectl.sh) is missing`, 'dex-renewal: parallel kubectl');

interface Machine {
  name: string;
  cacheDir: string;
  kubeconfig: string;
}

interface ExecUser {
  command: string;
  args: string[];
}

function execUser(kubeconfig: string): ExecUser {
  const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { exec: ExecUser } }[] };
  const exec = doc.users[0]?.user.exec;
  if (!exec) throw new Error(`no exec user in ${kubeconfig}`);
  return exec;
}

function cacheEntries(m: Machine): { idToken: string; refreshToken?: string; key: { loginHint?: string } }[] {
  if (!existsSync(m.cacheDir)) return [];
  // cache files are JSON; lock and cool-down files are not read here
  return readdirSync(m.cacheDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(m.cacheDir, f), 'utf8')) as { idToken: string; refreshToken?: string; key: { loginHint?: string } });
}

function expirySeconds(idToken: string): number {
  const exp = decodeClaims(idToken)['exp'];
  if (typeof exp !== 'number') throw new Error('ID token without exp');
  return exp;
}

async function sleepUntil(epochSeconds: number): Promise<void> {
  const ms = epochSeconds * 1000 - Date.now();
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

describe.skipIf(skip)(`renewal and logout against Dex ${dexVersion} (default rotation, ID tokens ${ID_TOKEN_TTL_S}s)`, () => {
  let ldap: SlapdPeer;
  let dex: DexPeer;
  let browser: Browser;
  let cp: ControlPlane | undefined;
  let dir: TempDir;
  let catalog: string;
  /** dana, signed in by beforeAll for the kubectl test, and her first ID token */
  let dana: { machine: Machine; firstToken: string } | undefined;
  const machine = (name: string): Machine => {
    const cacheDir = dir.file(`${name}-cache`);
    mkdirSync(cacheDir, { recursive: true });
    return { name, cacheDir, kubeconfig: dir.file(`${name}-kubeconfig`) };
  };
  const env = (extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => cleanEnv({ HOME: dir.path, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: undefined, K8S_AUTH_SKEW: String(SKEW_S), ...extra });

  /** `login dev --exec` with the password grant (LDAP through oauth2.passwordConnector). */
  async function loginExecPassword(m: Machine, email: string, password: string): Promise<void> {
    const login = await runCli(
      ['login', CLUSTER, '--exec', '--exec-command', cliEntry, '--grant', 'password', '--username', email, '--kubeconfig', m.kubeconfig, '--catalog', catalog, '--token-cache-dir', m.cacheDir],
      env({ K8S_AUTH_PASSWORD: password }),
      { timeoutMs: 60_000 },
    );
    expect(login.code, login.stderr).toBe(0);
  }

  /** `login dev --exec` in Chromium on Dex's page. */
  async function loginExecBrowser(m: Machine, email: string, password: string): Promise<void> {
    const cli = startCli(['login', CLUSTER, '--exec', '--exec-command', cliEntry, '--no-browser', '--kubeconfig', m.kubeconfig, '--catalog', catalog, '--token-cache-dir', m.cacheDir], env(), 90_000);
    await signInAtAuthUrl(browser, await cli.url, { login: email, password });
    const result = await cli.exited;
    expect(result.code, result.stderr).toBe(0);
  }

  /** The exec plugin exactly as kubectl runs it from the kubeconfig (no terminal unless interactive). */
  function credential(m: Machine, interactive: boolean, extraEnv: Record<string, string | undefined> = {}): Promise<CliRun> {
    const exec = execUser(m.kubeconfig);
    expect(exec.command).toBe(cliEntry);
    return runCli(exec.args, env({ KUBERNETES_EXEC_INFO: execInfo(interactive), ...extraEnv }), { timeoutMs: 120_000 });
  }

  function cachedIdToken(m: Machine): string {
    const entries = cacheEntries(m);
    expect(entries).toHaveLength(1);
    return entries[0]?.idToken ?? '';
  }

  beforeAll(async () => {
    // jane and ops as everywhere, plus dana for the kubectl run (each flow its own person, since a
    // sign-in of the same person and client ends the others' refresh tokens)
    ldap = await startSlapd({ users: [...DEFAULT_LDAP_USERS, { uid: 'dana', email: 'dana@example.com', password: 'dana-password', name: 'Dana Lee', groups: ['developers', 'sre'] }] });
    [dex, browser] = await Promise.all([startDex({ ldap, idTokenTtl: `${ID_TOKEN_TTL_S}s` }), launchChromium()]);
    if (!skipKubectl) cp = await startControlPlane({ oidc: { issuerUrl: dex.issuer, caFile: dex.caFile, clientId: dex.publicClientId } });
    dir = tempDir('k8s-auth-dex-renewal-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      [CLUSTER]: {
        server: cp?.server ?? 'https://127.0.0.1:6443',
        'issuer-url': dex.issuer,
        'client-id': dex.publicClientId,
        'idp-certificate-authority-data': base64(dex.caPem),
        ...(cp ? { 'certificate-authority-data': cp.caData } : {}),
      },
    });
    if (cp) {
      // the kubectl test needs a really expired ID token: dana signs in now, so that her token
      // expires while the tests before it run instead of in a sleep of its own
      const desk = machine('dana-desk');
      await loginExecPassword(desk, 'dana@example.com', 'dana-password');
      dana = { machine: desk, firstToken: cachedIdToken(desk) };
      // (well inside her token's 40s: the authenticator reads Dex's discovery as soon as it starts)
      const waited = await waitForOidcAuthenticator(cp, dana.firstToken, (ID_TOKEN_TTL_S - 5) * 1000);
      process.stderr.write(`dex-renewal: the API server accepted Dex's ID tokens after ${waited} ms\n`);
    }
  });
  afterAll(async () => {
    await browser?.close();
    await cp?.stop();
    await dex?.stop();
    await ldap?.stop();
    dir?.remove();
  });

  it(`${PARALLEL} parallel credential runs with a due ID token: exactly one refresh at Dex, no failure, groups kept`, async () => {
    const laptop = machine('jane-laptop');
    await loginExecPassword(laptop, 'jane@example.com', 'jane-password');
    const first = cachedIdToken(laptop);
    expect(decodeClaims(first)['groups']).toEqual(['developers']);
    // due: within the skew (K8S_AUTH_SKEW) of its expiry
    await sleepUntil(expirySeconds(first) - SKEW_S + 1);
    const before = await dex.tokenRequests();
    const runs = await Promise.all(Array.from({ length: PARALLEL }, () => credential(laptop, false)));
    const after = await dex.tokenRequests();
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const tokens = new Set(runs.map((r) => (JSON.parse(r.stdout) as { status: { token: string } }).status.token));
    expect(tokens.size).toBe(1);
    const renewed = [...tokens][0] ?? '';
    expect(renewed).not.toBe(first);
    expect({ ok: after.ok - before.ok, failed: after.failed - before.failed }).toEqual({ ok: 1, failed: 0 });
    expect(dex.logTail(400)).not.toMatch(/refresh token claimed twice/);
    const claims = decodeClaims(renewed);
    expect(claims).toMatchObject({ email: 'jane@example.com', groups: ['developers'], sub: dex.users.find((u) => u.uid === 'jane')?.sub });
    expect(cachedIdToken(laptop)).toBe(renewed);
    // still one refresh token for jane and k8s-auth at Dex
    const refresh = (await dex.dexapi('list-refresh', claims['sub'] as string)) as { refresh_tokens?: { client_id: string }[] };
    expect(refresh.refresh_tokens?.map((r) => r.client_id)).toEqual(['k8s-auth']);
  }, 240_000);

  it('a sign-in on another machine ends this refresh token: one line and exit 10 when not interactive, a new sign-in where it may interact', async () => {
    const first = machine('ops-laptop');
    await loginExecBrowser(first, 'ops@example.com', 'ops-password');
    const firstToken = cachedIdToken(first);
    // the same person and client sign in on another machine
    const second = machine('ops-workstation');
    await loginExecPassword(second, 'ops@example.com', 'ops-password');
    await sleepUntil(expirySeconds(firstToken) - SKEW_S + 1);

    const before = await dex.tokenRequests();
    const refused = await credential(first, false);
    expect(refused.code).toBe(10);
    expect(refused.stdout).toBe('');
    const errors = refused.stderr.split('\n').filter((l) => l.startsWith('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^error: 'dev' needs a new sign-in: the provider no longer accepts the cached refresh token \(invalid_request: Refresh token is invalid or has already been claimed by another client\.\): it was revoked or expired, or a sign-in with the same account and client elsewhere replaced it\. This run may not interact, so no browser was opened: run `k8s-auth login dev --exec`$/,
    );
    expect(refused.stderr).toMatch(/^hint: not interactive because kubectl says this run has no terminal/m);
    const after = await dex.tokenRequests();
    expect({ ok: after.ok - before.ok, failed: after.failed - before.failed }).toEqual({ ok: 0, failed: 1 });

    // the other machine's refresh token is the live one
    await sleepUntil(expirySeconds(cachedIdToken(second)) - SKEW_S + 1);
    const other = await credential(second, false);
    expect(other.code, other.stderr).toBe(0);

    // where kubectl has a terminal: the plugin signs in again (no display here, so through the
    // URL it prints; the person signs in in Chromium), and this machine has a live token again
    const child = spawn(process.execPath, [cliEntry, ...execUser(first.kubeconfig).args], {
      env: env({ KUBERNETES_EXEC_INFO: execInfo(true) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const signInPrompt = new Promise<{ url: string } | { verificationUri: string; userCode: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no sign-in prompt; stderr: ${stderr}`)), 60_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const device = /open (https:\/\/\S+) in a browser on any device and enter the code (\S+)/.exec(stderr);
        const auth = /(https:\/\/\S+\/auth\?\S+)/.exec(stderr);
        if (device?.[1] && device[2]) {
          clearTimeout(timer);
          resolve({ verificationUri: device[1], userCode: device[2] });
        } else if (auth?.[1]) {
          clearTimeout(timer);
          resolve({ url: auth[1] });
        }
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const prompt = await signInPrompt;
    expect(stderr).toMatch(/signing in to 'dev': the provider no longer accepts the cached refresh token/);
    if ('url' in prompt) await signInAtAuthUrl(browser, prompt.url, { login: 'ops@example.com', password: 'ops-password' });
    else await approveOnDex(browser, prompt, { login: 'ops@example.com', password: 'ops-password' });
    expect(await exited, stderr).toBe(0);
    const token = (JSON.parse(stdout) as { status: { token: string } }).status.token;
    expect(decodeClaims(token)).toMatchObject({ email: 'ops@example.com', groups: ['admins', 'developers'] });
    expect(cachedIdToken(first)).toBe(token);
    process.stderr.write(`dex-renewal: interactive re-sign-in went through ${'url' in prompt ? 'the browser URL (--no-browser from the exec args)' : 'the device code'}\n`);
  }, 300_000);

  it.skipIf(skipKubectl)(`${PARALLEL} parallel kubectl 1.32 get calls against kube-apiserver 1.20 with an expired ID token: one refresh, every call served`, async () => {
    if (!cp || !dana) throw new Error('no control plane, or dana was not signed in by beforeAll');
    const { machine: desk, firstToken: first } = dana;
    // RBAC: the LDAP group developers may read (view) the cluster
    const binding = await apiRequest(cp, {
      method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', auth: cp.adminAuth,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'ldap-developers-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
      },
    });
    expect(binding.status).toBe(201);
    // really expired, so the API server itself would refuse the cached token
    await sleepUntil(expirySeconds(first) + 1);
    expect((await apiRequest(cp, { path: '/api/v1/namespaces', auth: { kind: 'bearer', token: first } })).status).toBe(401);

    const before = await dex.tokenRequests();
    const runs = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        execFileP(kubectl132.path, ['--kubeconfig', desk.kubeconfig, 'get', 'namespaces', '-o', 'name'], { env: env(), timeout: 120_000 }).then(
          (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
          (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
        ),
      ),
    );
    const after = await dex.tokenRequests();
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('namespace/default');
    }
    expect({ ok: after.ok - before.ok, failed: after.failed - before.failed }).toEqual({ ok: 1, failed: 0 });
    const renewed = cachedIdToken(desk);
    expect(renewed).not.toBe(first);
    expect(decodeClaims(renewed)).toMatchObject({ email: 'dana@example.com', groups: ['developers', 'sre'] });
  }, 300_000);

  it('logout: Dex offers no revocation (RFC 7009), so k8s-auth says the refresh token stays valid there, and it does', async () => {
    const m = machine('jane-desktop');
    await loginExecPassword(m, 'jane@example.com', 'jane-password');
    const entry = cacheEntries(m)[0];
    const refreshToken = entry?.refreshToken ?? '';
    expect(refreshToken.length).toBeGreaterThan(10);
    const out = await runCli(['logout', CLUSTER, '--kubeconfig', m.kubeconfig], env(), { timeoutMs: 60_000 });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain(`warning: ${dex.issuer} offers no token revocation: the refresh token of jane@example.com@${CLUSTER} stays valid at the provider until it expires`);
    expect(out.stderr).toContain(`Logged out of ${CLUSTER}: removed the tokens of jane@example.com@${CLUSTER}`);
    expect(cacheEntries(m)).toEqual([]);
    // the refresh token k8s-auth forgot still works at Dex (only gRPC RevokeRefresh ends it there)
    const trusting = fetchTrusting(dex.caPem);
    try {
      const token = async (): Promise<number> =>
        (
          await trusting(`${dex.issuer}/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: dex.publicClientId }).toString(),
          })
        ).status;
      expect(await token()).toBe(200);
      // the operator's way out: RevokeRefresh over the gRPC API
      const jane = dex.users.find((u) => u.uid === 'jane')?.sub ?? '';
      expect(await dex.dexapi('revoke-refresh', jane, dex.publicClientId)).toEqual({});
      expect((await dex.dexapi('list-refresh', jane)) as { refresh_tokens?: unknown[] }).toEqual({});
    } finally {
      await trusting.close();
    }
  }, 120_000);
});
