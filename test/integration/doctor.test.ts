import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { b64, catalogEntry, checkOf as check, type DoctorPeers, type DoctorRun, DoctorWorkspace, failing, startDoctorPeers, verdicts } from '../support/doctor-fixture.js';
import { stringify } from 'yaml';
import { BASE_SCOPES } from '../../src/core/cluster-entry.js';
import { buildCredentialArgs, buildExecUser, EXEC_API_V1 } from '../../src/core/exec-credential.js';
import { serializeCachedTokens } from '../../src/core/token-cache-entry.js';
import { cacheFilePath } from '../../src/core/token-cache-key.js';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../support/pki.js';
import { runCli } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';

/*
 * `k8s-auth doctor` (the built CLI) against real peers: the Dex-shaped oidc-provider over HTTPS,
 * the Kubernetes API double (SelfSubjectAccessReview only, like servers before 1.27) and a small
 * HTTPS server that answers SelfSubjectReview. Each test breaks one piece and expects exactly
 * that check to fail with a fix, and exit code 12; the untouched setup passes every check.
 * (Vault: doctor-vault.test.ts.)
 */
let peers: DoctorPeers;
let ssrCa: CertificateAuthority;
let ssrServer: HttpsServer;
let ssrUrl = '';
let ws: DoctorWorkspace;

/** Expects exit 12 and `id` as the one failing check, with a fix. */
function expectOnlyFailure(result: DoctorRun, id: string, fix: RegExp): void {
  const c = check(result.report, id);
  expect(c.verdict, `${id}: ${c.detail}`).toBe('fail');
  expect(c.fix).toMatch(fix);
  expect(failing(result.report)).toEqual([id]);
  expect(result.code).toBe(12);
  expect(result.report.ok).toBe(false);
  expect(result.stderr).toMatch(new RegExp(`error: \\d checks? failed: .*${id}`));
}

beforeAll(async () => {
  peers = await startDoctorPeers();
  // an API server with SelfSubjectReview (1.28+): who the token is
  ssrCa = await createCa('doctor-ssr');
  const cert = await issueCert(ssrCa, { commonName: '127.0.0.1', kind: 'server', sans: ['IP:127.0.0.1'] });
  ssrServer = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const ok = req.headers.authorization === `Bearer ${peers.idToken}`;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!ok) return json(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    if (req.method === 'POST' && req.url === '/apis/authentication.k8s.io/v1/selfsubjectreviews') {
      return json(201, { kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', status: { userInfo: { username: 'oidc:jane@example.com', groups: ['oidc:developers', 'system:authenticated'] } } });
    }
    return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'the server could not find the requested resource', reason: 'NotFound', code: 404 });
  });
  await new Promise<void>((resolve) => ssrServer.listen(0, '127.0.0.1', resolve));
  ssrUrl = `https://127.0.0.1:${(ssrServer.address() as { port: number }).port}`;
});

afterAll(async () => {
  ssrServer?.close();
  await Promise.all([peers?.close(), ssrCa ? removeCa(ssrCa) : undefined]);
});

beforeEach(() => {
  peers.provider.resetFaults();
  ws = new DoctorWorkspace(peers);
  ws.writeCatalog(catalogEntry(peers));
  ws.writeKubeconfig();
});

afterEach(() => ws.remove());

describe('doctor against the test provider and the API double', () => {
  it('passes every check when everything is right (Vault skipped for a file catalog)', async () => {
    const { code, report, stderr } = await ws.doctor();
    expect(verdicts(report)).toEqual({
      vault: 'skip',
      catalog: 'pass',
      provider: 'pass',
      'redirect-uri': 'pass',
      kubeconfig: 'pass',
      locks: 'pass',
      tokens: 'pass',
      'api-server': 'pass',
    });
    expect([code, report.ok, report.cluster, stderr]).toEqual([0, true, 'prod', '']);
    expect(check(report, 'api-server').detail).toContain('accepted the ID token (SelfSubjectAccessReview, allowed: true');
    expect(check(report, 'tokens').detail).toMatch(/valid until .* \(in (59m|1h)\); refresh token cached/);
    // the API double saw our ID token on the review
    expect(peers.api.requests.some((r) => r.resource === 'selfsubjectaccessreviews' && r.user === 'jane@example.com')).toBe(true);
  });

  it('names the user from a SelfSubjectReview when the server has one', async () => {
    ws.writeCatalog(catalogEntry(peers, { server: ssrUrl, 'certificate-authority-data': b64(ssrCa.certPem) }));
    ws.writeKubeconfig({ server: ssrUrl, caPem: ssrCa.certPem });
    const { code, report } = await ws.doctor();
    expect(check(report, 'api-server')).toMatchObject({ verdict: 'pass', detail: `API server ${ssrUrl} knows you as oidc:jane@example.com (groups: oidc:developers, system:authenticated)` });
    expect(code).toBe(0);
  });

  it('checks the current context when no cluster is named, and prints text by default', async () => {
    const run = await runCli(['doctor', '--catalog', ws.catalogPath, '--kubeconfig', ws.kubeconfigPath], ws.env());
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(9);
    expect(lines[0]).toMatch(/^- skip {2}vault {9}the catalog is the file /);
    expect(lines.slice(1, 8).every((l) => l.startsWith('✓ pass  '))).toBe(true);
    expect(lines[8]).toBe('doctor: 0 failed, 0 warnings, 7 passed, 1 skipped for prod');
    expect(run.stdout).not.toContain('\u001b[');
  });

  it('on a terminal: colours unless NO_COLOR, and it finishes even on a pty that reports 0 columns', async () => {
    const cli = `${process.execPath} ${join(repoRoot, 'bin', 'k8s-auth.js')} doctor prod --catalog ${ws.catalogPath} --kubeconfig ${ws.kubeconfigPath}`;
    // async: the provider and API double answer from this process
    const onTty = (stty: string, extra: Record<string, string | undefined> = {}) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn('script', ['-qec', `stty ${stty}; ${cli}`, '/dev/null'], { env: ws.env({ NO_COLOR: undefined, ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout });
        });
      });
    const sized = await onTty('cols 100 rows 30');
    expect(sized.code, sized.stdout).toBe(0);
    expect(sized.stdout).toContain('\u001b[32m✓ pass\u001b[0m');
    // a pty that reports 0 columns used to send the spinner (ora) into an endless loop
    const zero = await onTty('cols 0 rows 0');
    expect(zero.code, zero.stdout.slice(0, 500)).toBe(0);
    expect(zero.stdout).toContain('doctor: 0 failed');
    const plain = await onTty('cols 100 rows 30', { NO_COLOR: '1' });
    expect(plain.stdout).toContain('✓ pass  catalog');
    expect(plain.stdout).not.toMatch(/\u001b\[3\dm/);
  });

  it('fails the catalog check for an incomplete entry', async () => {
    ws.writeCatalog(catalogEntry(peers, {}, ['client-id']));
    const result = await ws.doctor();
    expectOnlyFailure(result, 'catalog', /docs\/configuration\.md/);
    expect(check(result.report, 'catalog').detail).toContain("required field 'client-id' is missing");
    expect(verdicts(result.report)).toMatchObject({ provider: 'skip', 'redirect-uri': 'skip' });
  });

  it("fails discovery over TLS without the provider's CA", async () => {
    ws.writeCatalog(catalogEntry(peers, {}, ['idp-certificate-authority-data']));
    const result = await ws.doctor();
    expectOnlyFailure(result, 'provider', /idp-certificate-authority-data|--certificate-authority/);
    expect(check(result.report, 'provider').detail).toMatch(/TLS certificate not trusted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\)/);
    // … and --certificate-authority FILE fixes it
    const fixed = await ws.doctor(['--certificate-authority', peers.provider.caFile]);
    expect(check(fixed.report, 'provider').verdict).toBe('pass');
  });

  it('fails discovery whose issuer differs from the entry', async () => {
    peers.provider.faults.discovery = 'issuer-mismatch';
    const result = await ws.doctor();
    expectOnlyFailure(result, 'provider', /set issuer-url to '.*\/not-dex' exactly/);
  });

  it('fails a fixed redirect port that is already in use', async () => {
    const holder: NetServer = createNetServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      ws.writeCatalog(catalogEntry(peers, { 'redirect-uri': `http://127.0.0.1:${port}/callback` }));
      const result = await ws.doctor();
      expectOnlyFailure(result, 'redirect-uri', /other sign-in/);
      expect(check(result.report, 'redirect-uri').detail).toContain('in use');
    } finally {
      holder.close();
    }
  });

  it('fails a catalog redirect URI without a path (the provider would compare a different string)', async () => {
    ws.writeCatalog(catalogEntry(peers, { 'redirect-uri': 'http://127.0.0.1:18765' }));
    const result = await ws.doctor();
    const c = check(result.report, 'catalog');
    expect(c.verdict, c.detail).toBe('fail');
    expect(c.detail).toContain("field 'redirect-uri' must be http://127.0.0.1:<port>/<path>");
    expect(failing(result.report)).toEqual(['catalog']);
    expect(result.code).toBe(12);
  });

  it('fails a kubeconfig that is not YAML', async () => {
    writeFileSync(ws.kubeconfigPath, 'clusters: [oops\n', { mode: 0o600 });
    const result = await ws.doctor();
    expectOnlyFailure(result, 'kubeconfig', /fix or move/);
    expect(verdicts(result.report)).toMatchObject({ tokens: 'skip', 'api-server': 'skip' });
  });

  it('fails a kubeconfig without the context (not signed in)', async () => {
    const result = await ws.doctor(['--context', 'nope']);
    expectOnlyFailure(result, 'kubeconfig', /k8s-auth login prod --context-name nope/);
  });

  it('fails a lock left by a process that is gone', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const lock = join(ws.dir, 'kubeconfig.lock');
    writeFileSync(lock, JSON.stringify({ pid: Number(gone.stdout), host: hostname(), createdAt: new Date().toISOString() }));
    const result = await ws.doctor();
    expectOnlyFailure(result, 'locks', new RegExp(`rm ${lock}`));
    expect(readFileSync(lock, 'utf8')).toContain(gone.stdout); // doctor only looks
  });

  it('fails an expired ID token without a refresh token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await peers.provider.mintIdToken({ email: 'jane@example.com', issuedAt: now - 7200, expiresInSeconds: 3600 });
    ws.writeKubeconfig({ token: expired, refreshToken: null });
    const result = await ws.doctor();
    expectOnlyFailure(result, 'tokens', /k8s-auth login prod/);
    // the API server is still reached over TLS, but the credentials cannot be tested
    expect(check(result.report, 'api-server')).toMatchObject({ verdict: 'warn' });
  });

  it('fails when the API server rejects the ID token', async () => {
    const stranger = await peers.provider.mintIdToken({ email: 'ops@example.com', expiresInSeconds: 3600 });
    ws.writeKubeconfig({ token: stranger });
    const result = await ws.doctor();
    expectOnlyFailure(result, 'api-server', /--oidc-issuer-url=https:\/\/127\.0\.0\.1:\d+\/dex --oidc-client-id=k8s-auth/);
    expect(check(result.report, 'api-server').detail).toContain('401');
  });

  it("fails when the API server's certificate is not from the kubeconfig's CA", async () => {
    ws.writeKubeconfig({ caPem: peers.provider.caPem });
    const result = await ws.doctor();
    expectOnlyFailure(result, 'api-server', /certificate-authority-data/);
  });
});

describe('doctor with an exec-plugin user (k8s-auth credential)', () => {
  /** A kubeconfig user as `login --exec` writes it, and the cache file the plugin reads. */
  function writeExecLogin(cacheText?: (key: { issuer: string; clientId: string; scopes: string[] }) => string): string {
    const key = { issuer: peers.provider.issuer, clientId: peers.provider.clientId, scopes: [...BASE_SCOPES] };
    const args = buildCredentialArgs({ cluster: 'prod', ...key });
    const user = buildExecUser({ apiVersion: EXEC_API_V1, command: 'k8s-auth', args });
    writeFileSync(
      ws.kubeconfigPath,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'prod', cluster: { server: peers.api.url, 'certificate-authority-data': b64(peers.api.ca.certPem) } }],
        users: [{ name: 'jane@example.com@prod', user }],
        contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'jane@example.com@prod' } }],
        'current-context': 'prod',
      }),
      { mode: 0o600 },
    );
    const directory = join(ws.dir, 'cache', 'k8s-auth');
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const file = cacheFilePath(directory, key);
    const now = new Date().toISOString();
    const text = cacheText
      ? cacheText(key)
      : serializeCachedTokens({ key, idToken: peers.idToken, refreshToken: 'a-cached-refresh-token', expiresAt: new Date(Date.now() + 3600_000).toISOString(), updatedAt: now });
    writeFileSync(file, text, { mode: 0o600 });
    return file;
  }

  it('reads the token cache the exec user names and passes', async () => {
    const file = writeExecLogin();
    const { code, report } = await ws.doctor();
    expect(failing(report)).toEqual([]);
    expect(check(report, 'tokens').detail).toContain(`in the cache ${file}`);
    expect(check(report, 'kubeconfig').detail).toContain('exec k8s-auth credential');
    expect(check(report, 'api-server').verdict).toBe('pass');
    expect(code).toBe(0);
  });

  it('fails a cache file that is not ours to read', async () => {
    const file = writeExecLogin(() => '{"version": 1, "truncated');
    const result = await ws.doctor();
    expectOnlyFailure(result, 'tokens', new RegExp(`rm ${file}`));
    expect(check(result.report, 'tokens').detail).toContain('is not valid JSON');
  });
});
