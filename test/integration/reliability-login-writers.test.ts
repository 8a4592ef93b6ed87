// Nothing lost with 32 real `k8s-auth login` processes at once (issue 12 part 6): each is the
// built CLI in its own OS process, signing in through the real oidc-provider's password grant
// for its own catalog cluster, and all of them merge into ONE kubeconfig and ONE token cache
// directory at the same moment. Half write an `auth-provider: oidc` user (tokens in the
// kubeconfig), half `--exec` (tokens in the shared cache, where jane's and ops's logins each
// land on one entry that 8 processes write at once). Afterwards: 32 clusters, users and contexts,
// each with its own server and the right person's tokens, the kubeconfig parseable by us and by
// kubectl, every file 0600, no lock or temp file left. Then 32 `credential` processes refresh one
// expired cache entry together: one refresh, 32 identical tokens, the entry parseable and 0600.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { base64, writeCatalog, type CatalogClusterFields } from '../support/login-harness.js';
import { runCli } from '../support/run-cli.js';
import { kubectlPaths, repoRoot, skipUnless } from '../support/skip.js';

const execFileAsync = promisify(execFile);
const built = existsSync(join(repoRoot, 'dist', 'cli.js'));
const WRITERS = 32;
const PEOPLE = [
  { email: 'jane@example.com', password: 'jane-password' },
  { email: 'ops@example.com', password: 'ops-password' },
] as const;

interface KubeconfigDoc {
  'current-context'?: string;
  clusters: { name: string; cluster: { server: string } }[];
  users: { name: string; user: { 'auth-provider'?: { name: string; config: Record<string, string> }; exec?: { args?: string[] } } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
}

/** Writer i: cluster c-i, person i%2; pairs alternate auth-provider and --exec (8 of each mode per person). */
const writer = (i: number) => ({ cluster: `c-${i}`, person: PEOPLE[i % 2] as (typeof PEOPLE)[number], exec: Math.floor(i / 2) % 2 === 1, server: `https://127.0.0.1:${20_000 + i}` });

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first', 'reliability: 32 login processes'))('32 real `k8s-auth login` processes into one kubeconfig and one token cache', () => {
  let fx: CredentialFixture;
  let catalog: string;
  let kubeconfig: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    const clusters: Record<string, CatalogClusterFields> = {};
    for (let i = 0; i < WRITERS; i++) {
      clusters[writer(i).cluster] = { server: writer(i).server, 'issuer-url': fx.op.issuer, 'client-id': fx.op.clientId, 'idp-certificate-authority-data': base64(fx.op.caPem) };
    }
    catalog = writeCatalog(join(fx.dir, 'clusters-32.yaml'), clusters);
    kubeconfig = join(fx.dir, 'kubeconfig-32');
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('32 concurrent logins (16 auth-provider, 16 --exec; two people): 0 entries lost, right tokens everywhere, 0600, nothing left over', async () => {
    fx.op.resetStats();
    const started = Date.now();
    const runs = await Promise.all(
      Array.from({ length: WRITERS }, (_, i) => {
        const w = writer(i);
        const args = ['login', w.cluster, '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', w.person.email, '-q'];
        if (w.exec) args.push('--exec', '--token-cache-dir', fx.cacheDir);
        return runCli(args, fx.env({ K8S_AUTH_PASSWORD: w.person.password }), { timeoutMs: 180_000 });
      }),
    );
    const elapsed = Date.now() - started;
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('')).toEqual(Array(WRITERS).fill(0));
    // every process really signed in with the provider (no shortcut through another's result)
    expect(fx.op.stats.password).toBe(WRITERS);

    const doc = parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigDoc;
    const names = Array.from({ length: WRITERS }, (_, i) => writer(i).cluster).sort();
    expect(doc.clusters.map((c) => c.name).sort()).toEqual(names);
    expect(doc.contexts.map((c) => c.name).sort()).toEqual(names);
    expect(doc.users).toHaveLength(WRITERS);
    expect(names).toContain(doc['current-context']);
    for (let i = 0; i < WRITERS; i++) {
      const w = writer(i);
      expect(doc.clusters.find((c) => c.name === w.cluster)?.cluster.server).toBe(w.server);
      const context = doc.contexts.find((c) => c.name === w.cluster);
      expect(context?.context.cluster).toBe(w.cluster);
      const user = doc.users.find((u) => u.name === context?.context.user);
      expect(user, `user of ${w.cluster}`).toBeDefined();
      if (w.exec) {
        expect(user?.user['auth-provider']).toBeUndefined();
        expect(user?.user.exec?.args).toEqual(expect.arrayContaining(['credential', w.cluster, '--login-hint', w.person.email]));
      } else {
        const config = user?.user['auth-provider']?.config ?? {};
        // this writer's own sign-in: the right person, a refresh token of its own
        expect(decodeClaims(String(config['id-token']))['email']).toBe(w.person.email);
        expect(String(config['refresh-token']).length).toBeGreaterThan(10);
      }
    }
    const refreshTokens = doc.users.map((u) => u.user['auth-provider']?.config['refresh-token']).filter((t) => t !== undefined);
    expect(new Set(refreshTokens).size).toBe(WRITERS / 2);

    // the shared token cache: one entry per person (8 concurrent writers each), both complete
    const cacheFiles = readdirSync(fx.cacheDir).sort();
    expect(cacheFiles.filter((n) => n.endsWith('.lock') || n.endsWith('.tmp') || n.startsWith('.'))).toEqual([]);
    for (const person of PEOPLE) {
      const file = fx.cacheFile(person.email);
      expect(cacheFiles).toContain(file.slice(fx.cacheDir.length + 1));
      const entry = JSON.parse(readFileSync(file, 'utf8')) as { idToken: string; refreshToken: string };
      expect(decodeClaims(entry.idToken)['email']).toBe(person.email);
      expect(entry.refreshToken.length).toBeGreaterThan(10);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(cacheFiles).toHaveLength(PEOPLE.length);

    expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
    expect(existsSync(`${kubeconfig}.lock`)).toBe(false);
    expect(readdirSync(fx.dir).filter((n) => n.startsWith('.kubeconfig-32.'))).toEqual([]);
    process.stderr.write(`reliability: ${WRITERS} concurrent login processes, ${WRITERS}/${WRITERS} entries, 0 lost, ${elapsed} ms\n`);

    const kubectl = kubectlPaths().v1_32;
    if (kubectl.available) {
      const { stdout } = await execFileAsync(kubectl.path, ['config', 'get-contexts', '-o', 'name', '--kubeconfig', kubeconfig], { env: fx.env() });
      expect(stdout.trim().split('\n').sort()).toEqual(names);
    }
  }, 240_000);

  it('32 concurrent `credential` processes on one expired cache entry: one refresh, 32 identical valid tokens, the entry intact', async () => {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    fx.op.resetStats();
    const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) });
    const runs = await Promise.all(Array.from({ length: WRITERS }, () => runCli(fx.credentialArgs(), env, { timeoutMs: 180_000 })));
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('')).toEqual(Array(WRITERS).fill(0));
    expect(fx.op.stats.refresh_token).toBe(1);
    const tokens = runs.map((r) => (JSON.parse(r.stdout) as { status: { token: string } }).status.token);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(expired);
    expect(Number(decodeClaims(String(tokens[0]))['exp']) * 1000).toBeGreaterThan(Date.now());
    const entry = JSON.parse(readFileSync(fx.cacheFile(), 'utf8')) as { idToken: string; refreshToken: string };
    expect(entry.idToken).toBe(tokens[0]);
    expect(entry.refreshToken).not.toBe(real.refreshToken);
    expect(statSync(fx.cacheFile()).mode & 0o777).toBe(0o600);
    expect(existsSync(`${fx.cacheFile()}.lock`)).toBe(false);
  }, 240_000);
});
