// Peers that try to exhaust the client with the body of an answer: an endless fast body (as
// much as the socket takes), a content-length of 8 GiB, and an endless drip (one byte every
// 100 ms, which no idle timeout ever trips). Every provider call path (discovery, JWKS, token,
// device authorization, revocation), Vault and the API server must stop at the documented cap
// (docs/security.md) or at --http-timeout, whichever comes first, with one line and the
// documented exit code. The hostile peer bounds every stream itself (bytes and time), so these
// tests end even against a client without limits; the bytes it sent show where the client
// stopped reading.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { discoverProvider, revokeRefreshToken } from '../../src/adapters/oidc-client.js';
import { deviceCodeGrant, passwordGrant } from '../../src/adapters/oidc-grants.js';
import { verifyIdToken } from '../../src/adapters/id-token-verifier.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { discoveryFor, startHostilePeer, type HostileBehaviour, type HostilePeer } from '../support/hostile-peer.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { diffTrees, expectOneLineError, snapshotTree, spawnCli } from '../support/reliability-harness.js';

const MiB = 1024 * 1024;
const endless: HostileBehaviour = { kind: 'endless' };
const declaredHuge: HostileBehaviour = { kind: 'declared-huge' };
const drip: HostileBehaviour = { kind: 'drip', intervalMs: 100 };

let peer: HostilePeer;
let tlsPeer: HostilePeer;
let dir: TempDir;
let issuer: string;

beforeAll(async () => {
  // bounded by the peer: 64 MiB or 15 s per stream, whatever the client does
  [peer, tlsPeer] = await Promise.all([startHostilePeer({ maxBytes: 64 * MiB, maxMs: 15_000 }), startHostilePeer({ maxBytes: 64 * MiB, maxMs: 50_000, tls: true })]);
  issuer = `${peer.origin}/dex`;
  dir = tempDir('k8s-auth-hostile-bodies-');
});

afterAll(async () => {
  await Promise.all([peer?.close(), tlsPeer?.close()]);
  dir?.remove();
});

beforeEach(() => {
  for (const p of [peer, tlsPeer]) {
    p.routes.clear();
    p.fallback = undefined;
    p.streams.length = 0;
    p.hits.clear();
  }
  peer.routes.set('/dex/.well-known/openid-configuration', { kind: 'json', body: discoveryFor(issuer) });
});

/** The largest stream the peer sent on `path` (0 when none). */
const sentOn = (p: HostilePeer, path: string): number => Math.max(0, ...p.streams.filter((s) => s.path === path).map((s) => s.bytes));

async function failure(run: () => Promise<unknown>): Promise<{ error: CliError; ms: number }> {
  const started = performance.now();
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - started;
  expect(error, 'the call should have failed').toBeInstanceOf(CliError);
  return { error: error as CliError, ms };
}

const TOO_LARGE = /answered with more than 1 MiB/;
const TIMED_OUT = /did not answer within 1s/;

describe('provider call paths (in process, --http-timeout 1s)', () => {
  const provider = () => discoverProvider({ issuerUrl: issuer, clientId: 'k8s-auth', timeoutMs: 1000 });

  it('the cap is 1 MiB', async () => {
    const http: Record<string, unknown> = await import('../../src/adapters/http.js');
    expect(http['MAX_PROVIDER_BODY_BYTES']).toBe(MiB);
  });

  for (const [name, behaviour, message] of [
    ['endless fast body', endless, TOO_LARGE],
    ['8 GiB content-length', declaredHuge, TOO_LARGE],
    ['endless drip', drip, TIMED_OUT],
  ] as const) {
    it(`discovery: ${name} → exit 5, stopped early`, async () => {
      const path = '/dex/.well-known/openid-configuration';
      peer.routes.set(path, behaviour);
      const { error, ms } = await failure(provider);
      expect(error.exitCode).toBe(ExitCode.PROVIDER);
      expect(error.message).toMatch(message);
      expect(error.message).toContain('identity provider');
      expect(ms).toBeLessThan(4_000);
      expect(sentOn(peer, path)).toBeLessThan(16 * MiB);
    });

    it(`token endpoint (password grant): ${name} → exit 5, stopped early`, async () => {
      const config = await provider();
      peer.routes.set('/dex/token', behaviour);
      const { error, ms } = await failure(() => passwordGrant(config, { scopes: ['openid'], username: 'jane', password: 'jane-password' }));
      expect(error.exitCode).toBe(ExitCode.PROVIDER);
      expect(error.message).toMatch(message);
      expect(ms).toBeLessThan(4_000);
      expect(sentOn(peer, '/dex/token')).toBeLessThan(16 * MiB);
    });

    it(`device authorization: ${name} → exit 5, stopped early`, async () => {
      const config = await provider();
      peer.routes.set('/dex/device/code', behaviour);
      const { error, ms } = await failure(() => deviceCodeGrant(config, { scopes: ['openid'], prompt: () => undefined, timeoutMs: 10_000 }));
      expect(error.exitCode).toBe(ExitCode.PROVIDER);
      expect(error.message).toMatch(message);
      expect(ms).toBeLessThan(4_000);
      expect(sentOn(peer, '/dex/device/code')).toBeLessThan(16 * MiB);
    });

    it(`revocation: ${name} → exit 5, stopped early`, async () => {
      const config = await provider();
      peer.routes.set('/dex/token/revocation', behaviour);
      const { error, ms } = await failure(() => revokeRefreshToken(config, 'a-refresh-token-to-revoke'));
      expect(error.exitCode).toBe(ExitCode.PROVIDER);
      expect(error.message).toMatch(message);
      expect(ms).toBeLessThan(4_000);
      expect(sentOn(peer, '/dex/token/revocation')).toBeLessThan(16 * MiB);
    });

    it(`JWKS (ID token verification): ${name} → exit 5, stopped early`, async () => {
      peer.routes.set('/dex/keys', behaviour);
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${b64({ alg: 'RS256', kid: 'k1', typ: 'JWT' })}.${b64({ iss: issuer, sub: 'jane', aud: 'k8s-auth', exp: 4102444800, iat: 1700000000 })}.c2lnbmF0dXJl`;
      const { error, ms } = await failure(() => verifyIdToken(token, { issuerUrl: issuer, audience: 'k8s-auth', timeoutMs: 1000 }));
      expect(error.exitCode).toBe(ExitCode.PROVIDER);
      expect(error.message).toMatch(message);
      expect(ms).toBeLessThan(4_000);
      expect(sentOn(peer, '/dex/keys')).toBeLessThan(16 * MiB);
    });
  }
});

describe('the built CLI against hostile bodies', () => {
  function catalog(name: string, issuerUrl: string): string {
    const path = dir.file(name);
    writeFileSync(path, ['clusters:', '  prod:', '    server: https://127.0.0.1:6443', `    issuer-url: ${issuerUrl}`, '    client-id: k8s-auth', ''].join('\n'));
    return path;
  }
  const kubeconfigPath = () => dir.file('kubeconfig');

  async function cli(args: string[], env: Record<string, string>, code: number, message: RegExp, withinMs: number): Promise<void> {
    writeFileSync(kubeconfigPath(), 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n', { mode: 0o600 });
    const before = snapshotTree(dir.path);
    const run = await spawnCli(args, cleanEnv({ HOME: dir.file('home'), ...env }), 60_000).exited;
    expect(run.code, run.stderr).toBe(code);
    expectOneLineError(run.stderr, { message });
    expect(run.ms).toBeLessThan(withinMs);
    expect(diffTrees(before, snapshotTree(dir.path))).toEqual([]);
  }

  it('password login, token endpoint streams an endless body, --http-timeout 5: exit 5 at the 1 MiB cap, in seconds', async () => {
    peer.routes.set('/dex/token', endless);
    const cat = catalog('cat-hostile.yaml', issuer);
    await cli(['login', 'prod', '--catalog', cat, '--kubeconfig', kubeconfigPath(), '--grant', 'password', '--username', 'jane', '--http-timeout', '5', '-q'], { K8S_AUTH_PASSWORD: 'jane-password' }, 5, TOO_LARGE, 8_000);
    expect(sentOn(peer, '/dex/token')).toBeLessThan(16 * MiB);
  });

  it('password login, token endpoint drips, --http-timeout 2: exit 5 at the timeout', async () => {
    peer.routes.set('/dex/token', drip);
    const cat = catalog('cat-hostile.yaml', issuer);
    await cli(['login', 'prod', '--catalog', cat, '--kubeconfig', kubeconfigPath(), '--grant', 'password', '--username', 'jane', '--http-timeout', '2', '-q'], { K8S_AUTH_PASSWORD: 'jane-password' }, 5, /did not answer within 2s/, 7_000);
  });

  for (const [name, behaviour, message] of [
    ['endless fast body', endless, /Vault at .* answered with more than 1 MiB/],
    ['endless drip', drip, /Vault at .* did not answer within/],
  ] as const) {
    it(`Vault (catalog read): ${name} → exit 4, stopped early`, async () => {
      peer.fallback = behaviour;
      peer.routes.delete('/dex/.well-known/openid-configuration');
      await cli(['login', 'prod', '--kubeconfig', kubeconfigPath(), '--no-browser', '--timeout', '10', '--http-timeout', '2', '-q'], { VAULT_ADDR: peer.origin, VAULT_TOKEN: 'hvs.hostile-test-token' }, 4, message, 8_000);
      for (const s of peer.streams) expect(s.bytes).toBeLessThan(16 * MiB);
    });
  }

  function apiKubeconfig(): string {
    const path = dir.file('kc-api');
    const ca = Buffer.from(tlsPeer.ca?.certPem ?? '').toString('base64');
    writeFileSync(path, [
      'apiVersion: v1', 'kind: Config', 'current-context: hostile',
      'clusters:', '- name: hostile', '  cluster:', `    server: ${tlsPeer.origin}`, `    certificate-authority-data: ${ca}`,
      'users:', '- name: admin', '  user:', '    token: static-token-for-a-hostile-server',
      'contexts:', '- name: hostile', '  context:', '    cluster: hostile', '    user: admin', '',
    ].join('\n'), { mode: 0o600 });
    return path;
  }

  // the 32 MiB cap of client-node answers needs more than 2 s to reach on a loaded machine: the
  // endless case runs with --http-timeout 30, so only the cap can stop it
  for (const [name, behaviour, message, timeout] of [
    ['endless fast body', endless, /API server .*more than (1|32) MiB/, '30'],
    ['endless drip', drip, /API server .*did not answer within 2s/, '2'],
  ] as const) {
    it(`API server (token, TokenRequest): ${name} → exit 9, stopped early`, { timeout: 90_000 }, async () => {
      tlsPeer.fallback = behaviour;
      const kc = apiKubeconfig();
      await cli(['token', '--ttl', '1h', '--service-account', 'ci', '-o', 'json', '--kubeconfig', kc, '--http-timeout', timeout], {}, 9, message, 45_000);
      for (const s of tlsPeer.streams) expect(s.bytes).toBeLessThan(80 * MiB);
    });

    it(`API server (rbac list, client-node): ${name} → exit 9, stopped early`, { timeout: 90_000 }, async () => {
      tlsPeer.fallback = behaviour;
      const kc = apiKubeconfig();
      await cli(['rbac', 'list', '-o', 'json', '--kubeconfig', kc, '--http-timeout', timeout], {}, 9, message, 45_000);
      for (const s of tlsPeer.streams) expect(s.bytes).toBeLessThan(80 * MiB);
    });
  }
});
