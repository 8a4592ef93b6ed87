// Real kubectl (Debian's 1.20 and 1.32, unpacked under .tools/bin) running `k8s-auth credential`
// from the kubeconfig that `k8s-auth login --exec` wrote, and sending the token to a loopback
// HTTPS endpoint that records the Authorization header. kubectl 1.20 only speaks v1beta1; 1.32
// speaks both.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLUSTER, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../support/pki.js';
import { cliEntry, runCli } from '../support/run-cli.js';
import { kubectlPaths, skipUnless } from '../support/skip.js';

const run = promisify(execFile);
const kubectl = kubectlPaths();

interface BearerApi {
  url: string;
  authorizations: string[];
  close(): Promise<void>;
}

/** Just enough of the API for `kubectl get namespaces`; 401 without a bearer token. */
async function startBearerApi(ca: CertificateAuthority): Promise<BearerApi> {
  const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1'], kind: 'server' });
  const authorizations: string[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) return json(res, 401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
    authorizations.push(auth);
    if (path === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    if (path === '/apis') return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1') {
      return json(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] }] });
    }
    if (path === '/api/v1/namespaces') {
      return json(res, 200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'default', uid: 'u1', resourceVersion: '1' }, status: { phase: 'Active' } }] });
    }
    json(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorizations,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const cases = [
  { binary: kubectl.v1_32, apiVersion: 'v1' },
  { binary: kubectl.v1_32, apiVersion: 'v1beta1' },
  { binary: kubectl.v1_20, apiVersion: 'v1beta1' },
] as const;

const anyKubectl = kubectl.all.some((k) => k.available);

describe.skipIf(skipUnless(anyKubectl, 'no Debian kubectl under .tools/bin (run scripts/fetch-kubectl.sh)'))('exec plugin with real kubectl', () => {
  let fx: CredentialFixture;
  let apiCa: CertificateAuthority;
  let api: BearerApi;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    apiCa = await createCa('k8s-auth test API CA');
    api = await startBearerApi(apiCa);
    // point the catalog's cluster at the recording API
    const catalog = readFileSync(fx.catalogFile, 'utf8').replace('https://127.0.0.1:6443', api.url);
    writeFileSync(fx.catalogFile, `${catalog}    certificate-authority-data: ${Buffer.from(apiCa.certPem).toString('base64')}\n`);
  });
  afterAll(async () => {
    await api?.close();
    if (apiCa) await removeCa(apiCa);
    await fx?.close();
  });
  beforeEach(() => {
    fx.op.resetStats();
    api.authorizations.length = 0;
  });

  /** `login --exec` through the password grant (no browser needed), into its own kubeconfig. */
  async function loginExec(kubeconfig: string, apiVersion: string): Promise<void> {
    const login = await runCli(
      ['login', CLUSTER, '--exec', '--exec-api-version', apiVersion, '--exec-command', cliEntry, '--grant', 'password', '--username', 'jane@example.com', '--kubeconfig', kubeconfig, '--catalog', fx.catalogFile, '--token-cache-dir', fx.cacheDir],
      fx.env({ K8S_AUTH_PASSWORD: 'jane-password' }),
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('kubectl gets it from `k8s-auth credential`');
  }

  // login --exec records who signed in as the login hint, part of the cache key
  const JANE = 'jane@example.com';

  function cachedIdToken(): string {
    return (JSON.parse(readFileSync(fx.cacheFile(JANE), 'utf8')) as { idToken: string }).idToken;
  }

  for (const c of cases) {
    it.skipIf(!c.binary.available)(`kubectl ${c.binary.version} with apiVersion ${c.apiVersion}: token from the cache, then a refresh when it expired`, async () => {
      const kubeconfig = join(fx.dir, `kubeconfig-${c.binary.version}-${c.apiVersion}`);
      await loginExec(kubeconfig, c.apiVersion);
      expect(fx.op.stats.password).toBe(1);
      const written = parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { exec: Record<string, unknown> } }[] };
      const exec = written.users[0]?.user.exec ?? {};
      expect(exec['apiVersion']).toBe(`client.authentication.k8s.io/${c.apiVersion}`);
      expect(exec['interactiveMode']).toBe('IfAvailable');
      expect(exec['args']).toEqual(expect.arrayContaining(['credential', CLUSTER, '--issuer', fx.op.issuer, '--client-id', fx.op.clientId, '--scopes', fx.scopes.join(' '), '--login-hint', JANE, '--catalog', fx.catalogFile]));
      expect(JSON.stringify(exec)).not.toContain('jane-password');
      const token = cachedIdToken();

      const first = await run(c.binary.path, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'], { env: fx.env() });
      expect(first.stdout.trim()).toBe('namespace/default');
      expect(api.authorizations.length).toBeGreaterThan(0);
      expect(new Set(api.authorizations)).toEqual(new Set([`Bearer ${token}`]));
      expect(fx.op.stats.refresh_token + fx.op.stats.password).toBe(1);

      // expire the cached ID token (keeping the real refresh token): kubectl's next call refreshes
      const cached = JSON.parse(readFileSync(fx.cacheFile(JANE), 'utf8')) as { refreshToken: string };
      const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
      fx.writeCache({ idToken: expired, refreshToken: cached.refreshToken }, JANE);
      api.authorizations.length = 0;
      const second = await run(c.binary.path, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'], { env: fx.env() });
      expect(second.stdout.trim()).toBe('namespace/default');
      expect(fx.op.stats.refresh_token).toBe(1);
      const refreshed = cachedIdToken();
      expect(refreshed).not.toBe(expired);
      expect(new Set(api.authorizations)).toEqual(new Set([`Bearer ${refreshed}`]));
    });
  }

  it.skipIf(!kubectl.v1_20.available)('kubectl 1.20 refuses apiVersion v1 (hence --exec-api-version v1beta1)', async () => {
    const kubeconfig = join(fx.dir, 'kubeconfig-1.20-v1');
    await loginExec(kubeconfig, 'v1');
    const refused = await run(kubectl.v1_20.path, ['--kubeconfig', kubeconfig, 'get', 'namespaces'], { env: fx.env() }).catch((e: { stderr: string; code: number }) => e);
    expect('code' in refused && refused.code).toBe(1);
    expect((refused as { stderr: string }).stderr).toContain('invalid apiVersion "client.authentication.k8s.io/v1"');
  });

  for (const binary of kubectl.all) {
    it.skipIf(!binary.available)(`kubectl ${binary.version} without a terminal and without a refresh token: the plugin refuses to sign in and says what to run`, async () => {
      const kubeconfig = join(fx.dir, `kubeconfig-refuse-${binary.version}`);
      await loginExec(kubeconfig, binary.version === '1.20' ? 'v1beta1' : 'v1');
      const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
      fx.writeCache({ idToken: expired }, JANE);
      fx.op.resetStats();
      // execFile gives kubectl a pipe for stdin: no terminal, so IfAvailable means not interactive
      const refused = await run(binary.path, ['--kubeconfig', kubeconfig, 'get', 'namespaces'], { env: fx.env() }).catch((e: { stderr: string; code: number }) => e);
      expect('code' in refused && refused.code).toBe(1);
      expect((refused as { stderr: string }).stderr).toContain(`run \`k8s-auth login ${CLUSTER} --exec\``);
      expect(fx.op.stats.password + fx.op.stats.device_code + fx.op.stats.authorization_code).toBe(0);
      expect(api.authorizations).toEqual([]);
    });
  }
});
