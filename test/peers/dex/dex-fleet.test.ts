// Issue 15 point 1 against real peers: Dex's gRPC API (mutual TLS, api/v2), OpenBao (the real
// Vault KV v2 API) and the current kube-apiserver (structured authentication).
// - `clusters add --dry-run` changes nothing and prints the AuthenticationConfiguration jwt
//   entry; the API server runs with exactly that entry;
// - `clusters add` creates the Dex client and the catalog entry; `login --grant password` reads
//   the entry (secret included) from Vault, and kubectl on the API server is that user;
// - `clusters rotate-secret`: Dex refuses the old secret at its token endpoint, takes the new
//   one, and a new login works;
// - faults between the two writes: a Vault token that may read but not write makes `add` undo
//   the Dex client (neither side holds anything) and `rotate-secret` put the old secret back;
//   check-and-set refuses a create over an entry and an update from a stale version;
// - `clusters list --dex-grpc` reports a catalog entry whose client Dex lacks;
// - `clusters remove` leaves nothing in either;
// - `login --all --trusted-client k8s-auth` over 3 clusters added with `--trusted-peer k8s-auth`:
//   one visit to Dex in Chromium, one ID token whose aud holds the 3 client IDs, kubectl reaches
//   each context. The 3 catalog clusters are one kube-apiserver whose AuthenticationConfiguration
//   lists the 3 client IDs as audiences (one API server per cluster would cost 3 start-ups).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createCatalogWriter } from '../../../src/adapters/vault-catalog-write.js';
import { chromiumAvailable, launchChromium } from '../../support/browser.js';
import { decodeClaims } from '../../support/credential-fixture.js';
import { cleanEnv, startCli, tempDir, type TempDir } from '../../support/login-harness.js';
import { runCli } from '../../support/run-cli.js';
import { repoRoot, skipUnless } from '../../support/skip.js';
import { fetchTrusting } from '../../support/tls-fetch.js';
import { currentKubectl, currentKubernetesAvailable, currentKubernetesMissing, startCurrentApiServer, waitForJwtAuthenticator, type CurrentApiServer, type JwtIssuer } from '../kubernetes/kubernetes.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../openbao/openbao.js';
import { dexAvailable, dexVersion, startDex, type DexPeer } from './dex.js';
import { signInAtAuthUrl } from './dex-pages.js';

const execFileAsync = promisify(execFile);
const skip =
  skipUnless(dexAvailable(), `Dex ${dexVersion} (bash test/peers/dex/install.sh) or Debian slapd is missing`) ||
  skipUnless(openbaoAvailable(), OPENBAO_MISSING) ||
  skipUnless(currentKubernetesAvailable(), currentKubernetesMissing());

const CLUSTER = 'fleet1';
const CLIENT_ID = 'kubernetes-fleet1';
const ENTRY = `secret/data/k8s-auth/clusters/${CLUSTER}`;
const FLEET = ['a1', 'a2', 'a3'];
const noChromium = !chromiumAvailable();

describe.skipIf(skip)('clusters add|rotate-secret|remove against real Dex gRPC, OpenBao and kube-apiserver', () => {
  let dex: DexPeer;
  let bao: OpenBao;
  let cp: CurrentApiServer;
  let dir: TempDir;
  let env: NodeJS.ProcessEnv;
  const user = { login: 'jane@example.com', password: 'jane-password' };

  const cli = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...env, ...extra }, { timeoutMs: 60_000 });
  const dexClients = async (): Promise<{ id: string; name?: string; public?: boolean }[]> => ((await dex.dexapi('list-clients')) as { clients?: { id: string }[] }).clients ?? [];
  const vaultEntry = async (): Promise<{ status: number; data: Record<string, string> | undefined; version: number | undefined }> => {
    const answer = await bao.api('GET', ENTRY);
    const body = answer.json as { data?: { data?: Record<string, string>; metadata?: { version?: number } } } | undefined;
    return { status: answer.status, data: body?.data?.data ?? undefined, version: body?.data?.metadata?.version };
  };
  /** Dex's token endpoint, password grant, with this client secret: the status and the ID token. */
  const passwordGrant = async (secret: string): Promise<{ status: number; idToken?: string }> => {
    const trusting = fetchTrusting(dex.caPem);
    try {
      const res = await trusting(`${dex.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'password', username: user.login, password: user.password, scope: 'openid email groups' }).toString(),
      });
      const json = (await res.json()) as { id_token?: string };
      return { status: res.status, ...(json.id_token ? { idToken: json.id_token } : {}) };
    } finally {
      await trusting.close();
    }
  };
  const loginAndWhoami = async (name: string): Promise<string> => {
    const kubeconfig = join(dir.path, `${name}.kubeconfig`);
    const login = await cli(['login', CLUSTER, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', user.login], { K8S_AUTH_PASSWORD: user.password });
    expect(login.code, login.stderr).toBe(0);
    const { stdout } = await execFileAsync(currentKubectl, ['auth', 'whoami', '-o', 'json', '--kubeconfig', kubeconfig], { env: cleanEnv({ HOME: dir.path }), timeout: 30_000 });
    return (JSON.parse(stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username;
  };

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build`');
    dir = tempDir('k8s-auth-fleet-');
    const t0 = Date.now();
    [dex, bao] = await Promise.all([startDex({ logLevel: 'info' }), startOpenBao()]);
    env = cleanEnv({
      HOME: dir.path,
      VAULT_ADDR: bao.addr,
      VAULT_TOKEN: bao.token,
      K8S_AUTH_DEX_GRPC: dex.grpc.address,
      K8S_AUTH_DEX_CA: dex.grpc.caFile,
      K8S_AUTH_DEX_CERT: dex.grpc.certFile,
      K8S_AUTH_DEX_KEY: dex.grpc.keyFile,
    });
    // the API server runs with the jwt entry a dry run prints, before anything exists
    const dry = await cli(['clusters', 'add', CLUSTER, '--server', 'https://127.0.0.1:1', '--idp-certificate-authority', dex.caFile, '--dry-run', '-o', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    const planned = JSON.parse(dry.stdout) as { dryRun: boolean; steps: unknown[]; apiServer: { jwt: { issuer: { url: string; audiences: string[]; certificateAuthority: string }; claimMappings: { username: { claim: string; prefix: string } } } } };
    expect(planned).toMatchObject({ dryRun: true, clientId: CLIENT_ID });
    expect(planned.steps).toHaveLength(2);
    expect(await dexClients()).not.toContainEqual(expect.objectContaining({ id: CLIENT_ID }));
    expect((await vaultEntry()).status).toBe(404);
    const { issuer, claimMappings } = planned.apiServer.jwt;
    const jwt: JwtIssuer = { url: issuer.url, caPem: issuer.certificateAuthority, audiences: [...issuer.audiences, ...FLEET.map((n) => `kubernetes-${n}`)], username: claimMappings.username };
    const t1 = Date.now();
    cp = await startCurrentApiServer({ authenticationConfig: [jwt] });
    process.stderr.write(`fleet: Dex + OpenBao ${t1 - t0} ms, kube-apiserver ${Date.now() - t1} ms\n`);
  }, 240_000);

  afterAll(async () => {
    await Promise.allSettled([cp?.stop(), dex?.stop(), bao?.stop()]);
    dir?.remove();
  });

  it('add creates the Dex client and the catalog entry; login reads it from Vault and kubectl is that user', async () => {
    const caFile = join(dir.path, 'apiserver-ca.pem');
    writeFileSync(caFile, cp.caPem);
    const add = await cli(['clusters', 'add', CLUSTER, '--server', cp.server, '--certificate-authority', caFile, '--idp-certificate-authority', dex.caFile, '-o', 'json']);
    expect(add.code, add.stderr).toBe(0);
    expect(JSON.parse(add.stdout)).toMatchObject({ cluster: CLUSTER, clientId: CLIENT_ID, dryRun: false, version: 1, public: false });
    expect(await dexClients()).toContainEqual(expect.objectContaining({ id: CLIENT_ID, name: `k8s-auth cluster ${CLUSTER}` }));
    const entry = await vaultEntry();
    expect(entry.data).toMatchObject({ server: cp.server, 'issuer-url': dex.issuer, 'client-id': CLIENT_ID, 'redirect-uri': 'http://127.0.0.1:8000/callback' });
    expect(entry.data?.['client-secret']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(add.stderr).not.toContain('Warning');
    // the secret is in Vault, not in what add printed
    expect(add.stdout + add.stderr).not.toContain(entry.data?.['client-secret'] ?? '<none>');
    const good = await passwordGrant(entry.data?.['client-secret'] ?? '');
    expect(good.status).toBe(200);
    await waitForJwtAuthenticator(cp, good.idToken ?? '');
    expect(await loginAndWhoami('after-add')).toBe(user.login);
    // a second add of the same name is refused before anything is touched
    const again = await cli(['clusters', 'add', CLUSTER, '--server', cp.server]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('already in the catalog');
  }, 120_000);

  it('rotate-secret: Dex refuses the old secret and takes the new one, and a new login works', async () => {
    const before = await vaultEntry();
    const oldSecret = before.data?.['client-secret'] ?? '';
    const rotate = await cli(['clusters', 'rotate-secret', CLUSTER, '-o', 'json']);
    expect(rotate.code, rotate.stderr).toBe(0);
    const after = await vaultEntry();
    expect(after.version).toBe((before.version ?? 0) + 1);
    const newSecret = after.data?.['client-secret'] ?? '';
    expect(newSecret).not.toBe(oldSecret);
    expect((await passwordGrant(oldSecret)).status).toBe(401);
    expect((await passwordGrant(newSecret)).status).toBe(200);
    expect(await loginAndWhoami('after-rotate')).toBe(user.login);
  }, 120_000);

  it('a fault between the two writes leaves neither: read-only Vault token for add and rotate-secret', async () => {
    await bao.writePolicy('catalog-read', 'path "secret/data/k8s-auth/*" { capabilities = ["read", "list"] }\npath "secret/metadata/k8s-auth/*" { capabilities = ["read", "list"] }');
    const readOnly = await bao.createToken(['catalog-read']);
    const add = await cli(['clusters', 'add', 'fleet2', '--server', cp.server], { VAULT_TOKEN: readOnly });
    expect(add.code).toBe(4);
    expect(add.stderr).toMatch(/denied writing cluster 'fleet2'/);
    expect(add.stderr).toContain("undid Dex client 'kubernetes-fleet2'");
    expect(await dexClients()).not.toContainEqual(expect.objectContaining({ id: 'kubernetes-fleet2' }));
    expect((await bao.api('GET', 'secret/metadata/k8s-auth/clusters/fleet2')).status).toBe(404);

    const before = await vaultEntry();
    const rotate = await cli(['clusters', 'rotate-secret', CLUSTER], { VAULT_TOKEN: readOnly });
    expect(rotate.code).toBe(4);
    expect(rotate.stderr).toContain('undid the new secret in Dex');
    expect((await vaultEntry()).version).toBe(before.version);
    expect((await passwordGrant(before.data?.['client-secret'] ?? '')).status).toBe(200);
  }, 120_000);

  it('check-and-set: no create over an entry, no update from a stale version', async () => {
    const writer = createCatalogWriter({ mount: 'secret', prefix: 'k8s-auth/clusters' }, { VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token });
    const current = await vaultEntry();
    await expect(writer.write(CLUSTER, { ...current.data }, 0)).rejects.toThrow(/already exists \(Vault refused the check-and-set\)/);
    await expect(writer.write(CLUSTER, { ...current.data }, (current.version ?? 1) - 1)).rejects.toThrow(/no longer at version/);
    expect((await vaultEntry()).version).toBe(current.version);
  });

  it('list --dex-grpc: ok for the registered cluster, missing-in-dex for an entry Dex has no client for', async () => {
    await bao.kvPut('k8s-auth/clusters/ghost', { server: 'https://127.0.0.1:1', 'issuer-url': dex.issuer, 'client-id': 'kubernetes-ghost' });
    const list = await cli(['clusters', 'list', '-o', 'json']);
    expect(list.code, list.stderr).toBe(12);
    const rows = (JSON.parse(list.stdout) as { rows: { cluster: string; status: string }[] }).rows;
    expect(rows).toEqual(expect.arrayContaining([expect.objectContaining({ cluster: CLUSTER, status: 'ok' }), expect.objectContaining({ cluster: 'ghost', status: 'missing-in-dex' })]));
    expect((await bao.api('DELETE', 'secret/metadata/k8s-auth/clusters/ghost')).status).toBe(204);
  });

  it('remove leaves nothing in either', async () => {
    const dry = await cli(['clusters', 'remove', CLUSTER, '--dry-run', '-o', 'json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await dexClients()).toContainEqual(expect.objectContaining({ id: CLIENT_ID }));
    const remove = await cli(['clusters', 'remove', CLUSTER]);
    expect(remove.code, remove.stderr).toBe(0);
    expect(await dexClients()).not.toContainEqual(expect.objectContaining({ id: CLIENT_ID }));
    expect((await bao.api('GET', `secret/metadata/k8s-auth/clusters/${CLUSTER}`)).status).toBe(404);
    expect((await bao.api('LIST', 'secret/metadata/k8s-auth/clusters')).status).toBe(404);
  });

  it.skipIf(noChromium)('login --all --trusted-client: one browser visit for 3 clusters, one ID token for all, kubectl reaches each', async () => {
    for (const name of FLEET) {
      const add = await cli(['clusters', 'add', name, '--server', cp.server, '--certificate-authority-data', cp.caData, '--idp-certificate-authority', dex.caFile, '--trusted-peer', dex.publicClientId]);
      expect(add.code, add.stderr).toBe(0);
    }
    const clients = (await dex.dexapi('list-clients')) as { clients: { id: string; trusted_peers?: string[] }[] };
    for (const name of FLEET) expect(clients.clients.find((c) => c.id === `kubernetes-${name}`)?.trusted_peers).toEqual([dex.publicClientId]);
    const kubeconfig = join(dir.path, 'fleet.kubeconfig');
    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const login = startCli(['login', '--all', '--trusted-client', dex.publicClientId, '--kubeconfig', kubeconfig, '--no-browser'], env, 90_000);
      const url = await login.url;
      const scopes = new URL(url).searchParams.get('scope')?.split(' ') ?? [];
      expect(scopes).toEqual(expect.arrayContaining(FLEET.map((n) => `audience:server:client_id:kubernetes-${n}`)));
      await signInAtAuthUrl(browser, url, { login: user.login, password: user.password });
      const result = await login.exited;
      expect(result.code, result.stderr).toBe(0);
      // one sign-in for the three: one "Signing in" line, one auth URL
      expect(result.stderr.match(/Signing in to /g)).toHaveLength(1);
      expect(result.stderr.match(/\/auth\?/g)).toHaveLength(1);
    } finally {
      await browser?.close();
    }
    const doc = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { 'auth-provider': { config: Record<string, string> } } }[]; contexts: { name: string; context: { user: string } }[] };
    expect(doc.users).toHaveLength(1);
    const config = doc.users[0]?.user['auth-provider'].config ?? {};
    expect(config['client-id']).toBe(dex.publicClientId);
    expect(config['refresh-token']).toBeTruthy();
    expect(decodeClaims(config['id-token'] ?? '')['aud']).toEqual(expect.arrayContaining([dex.publicClientId, ...FLEET.map((n) => `kubernetes-${n}`)]));
    for (const name of FLEET) {
      expect(doc.contexts.find((c) => c.name === name)?.context.user).toBe(doc.users[0]?.name);
      const { stdout } = await execFileAsync(currentKubectl, ['auth', 'whoami', '-o', 'json', '--kubeconfig', kubeconfig, '--context', name], { env: cleanEnv({ HOME: dir.path }), timeout: 30_000 });
      expect((JSON.parse(stdout) as { status: { userInfo: { username: string } } }).status.userInfo.username).toBe(user.login);
    }
  }, 150_000);
});
