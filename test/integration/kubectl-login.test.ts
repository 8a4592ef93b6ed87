// Real kubectl (Debian's 1.20 and 1.32, unpacked under .tools/bin) reading the kubeconfig that
// `k8s-auth login` wrote: it must send the ID token as a bearer token, and once the token is
// within kubectl's 10 s expiry margin, refresh it itself through our refresh token and the
// provider's CA data, and write the new tokens back.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parse } from 'yaml';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../support/pki.js';
import { kubectlPaths, skipUnless, sourceBuiltKubectl120 } from '../support/skip.js';

const run = promisify(execFile);
const kubectl = kubectlPaths();
const skipAll = skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed');
const TTL_SECONDS = 20;

/** A loopback HTTPS endpoint answering just enough of the API for `kubectl get namespaces`. */
interface BearerApi {
  url: string;
  authorizations: string[];
  close(): Promise<void>;
}

async function startBearerApi(ca: CertificateAuthority): Promise<BearerApi> {
  const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1'], kind: 'server' });
  const authorizations: string[] = [];
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    const auth = req.headers.authorization;
    if (!auth?.startsWith('Bearer ')) return json(res, 401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
    authorizations.push(auth);
    if (path === '/api') return json(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${(server.address() as AddressInfo).port}` }] });
    if (path === '/apis') return json(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
    if (path === '/api/v1') {
      return json(res, 200, { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] }] });
    }
    if (path === '/api/v1/namespaces') {
      return json(res, 200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'default', uid: 'u1', resourceVersion: '1' }, status: { phase: 'Active' } }] });
    }
    if (path === '/version') return json(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0' });
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

function oidcConfigOf(kubeconfig: string): Record<string, string> {
  const config = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: { 'auth-provider': { config: Record<string, string> } } }[] };
  return (config.users[0] as (typeof config.users)[number]).user['auth-provider'].config;
}

function expOf(idToken: string): number {
  return (JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }).exp;
}

/** One provider, API and catalog per kubectl binary, so that the binaries' tests run side by side
 * (each waits for its own token to come within kubectl's margin) and each counts only its own
 * refresh grants and bearer tokens. */
interface Peers {
  provider: TestProvider;
  api: BearerApi;
  catalog: string;
}

const binaries = [...kubectl.all, sourceBuiltKubectl120()];

describe.skipIf(skipAll).concurrent('kubectl uses and refreshes the login', () => {
  let browser: Browser;
  let apiCa: CertificateAuthority;
  let dir: TempDir;
  const peers = new Map<string, Peers>();

  beforeAll(async () => {
    [browser, apiCa] = await Promise.all([launchChromium(), createCa('k8s-auth test API CA')]);
    dir = tempDir('k8s-auth-kubectl-');
    await Promise.all(
      binaries.map(async (binary) => {
        const [provider, api] = await Promise.all([startTestProvider({ idTokenTtlSeconds: TTL_SECONDS }), startBearerApi(apiCa)]);
        const catalog = writeCatalog(dir.file(`clusters-${binary.version}.yaml`), {
          demo: {
            server: api.url,
            'certificate-authority-data': base64(apiCa.certPem),
            'issuer-url': provider.issuer,
            'client-id': provider.clientId,
            'idp-certificate-authority-data': base64(provider.caPem),
          },
        });
        peers.set(binary.version, { provider, api, catalog });
      }),
    );
  });
  afterAll(async () => {
    await browser?.close();
    for (const { api, provider } of peers.values()) {
      await api.close();
      await provider.close();
    }
    if (apiCa) await removeCa(apiCa);
    dir?.remove();
  });

  for (const binary of binaries) {
    const install = binary.version === '1.20-source' ? 'test/cluster/build-control-plane.sh' : 'scripts/fetch-kubectl.sh';
    const skip = skipUnless(binary.available, `${binary.path} is absent (run ${install})`, `kubectl ${binary.version}`);
    it.skipIf(skip)(`kubectl ${binary.version} sends the ID token, then refreshes it through the refresh token`, async ({ expect }) => {
      const own = peers.get(binary.version);
      if (!own) throw new Error(`beforeAll started no provider and API for kubectl ${binary.version}`);
      const { provider, api, catalog } = own;
      const kubeconfig = dir.file(`kubeconfig-${binary.version}`);
      const cli = startCli(['login', 'demo', '--catalog', catalog, '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv());
      await signInWithBrowser(browser, await cli.url, { login: 'jane@example.com', password: 'jane-password' });
      const login = await cli.exited;
      expect(login.code, login.stderr).toBe(0);
      const first = oidcConfigOf(kubeconfig);
      const env = cleanEnv({ HOME: dir.path, KUBECONFIG: kubeconfig });
      const kubectlRun = () => run(binary.path, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'], { env, timeout: 30_000 });

      // 1. a fresh token is sent as is
      api.authorizations.length = 0;
      const before = await kubectlRun();
      expect(before.stdout.trim()).toBe('namespace/default');
      expect(api.authorizations.length).toBeGreaterThan(0);
      expect(new Set(api.authorizations)).toEqual(new Set([`Bearer ${first['id-token']}`]));

      // 2. once the token is within 10 s of expiry, kubectl refreshes it with our refresh token
      // (successful refresh grants: Go's oauth2 first tries client auth in a header, which this
      // public client refuses, then retries with the client_id in the body)
      const refreshes = () => provider.stats.refresh_token - provider.stats.tokenErrors;
      const refreshesBefore = refreshes();
      const waitMs = (expOf(String(first['id-token'])) - 10 + 1) * 1000 - Date.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      api.authorizations.length = 0;
      let after: { stdout: string; stderr: string };
      try {
        after = await kubectlRun();
      } catch (error) {
        const stderr = String((error as { stderr?: unknown }).stderr ?? '');
        // Debian's kubectl 1.20 binary vendors reflect2 1.0.1, which faults under the Go 1.19 it
        // was built with when client-go writes the refreshed tokens back (clientcmd.WriteToFile).
        // The same source built with reflect2 1.0.2 (the '1.20-source' binary) must not crash.
        // docs/troubleshooting.md tells bookworm users to prefer `login --exec` for this reason.
        if (binary.version === '1.20' && /mapiterinit/.test(stderr) && /oidc\.\(\*oidcAuthProvider\)\.idToken/.test(stderr)) {
          expect(refreshes()).toBe(refreshesBefore + 1); // it did refresh with our token and CA data
          process.stderr.write(`NOTE kubectl 1.20 (Debian package): refreshed with our refresh token, then crashed writing it back (its vendored reflect2 1.0.1 under Go 1.19); the source-built 1.20 test covers the write-back\n`);
          return;
        }
        throw error;
      }
      expect(after.stdout.trim()).toBe('namespace/default');
      const second = oidcConfigOf(kubeconfig);
      expect(second['id-token']).not.toBe(first['id-token']);
      expect(second['refresh-token']).not.toBe(first['refresh-token']);
      expect(refreshes()).toBe(refreshesBefore + 1);
      expect(new Set(api.authorizations)).toEqual(new Set([`Bearer ${second['id-token']}`]));
      expect(expOf(String(second['id-token']))).toBeGreaterThan(expOf(String(first['id-token'])));
      // what kubectl wrote back still carries our fields
      expect(second['idp-issuer-url']).toBe(provider.issuer);
      expect(second['idp-certificate-authority-data']).toBe(base64(provider.caPem));
    }, 90_000);
  }
});
