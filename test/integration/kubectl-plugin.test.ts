import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VERSION } from '../../src/cli.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { cleanEnv } from '../support/run-cli.js';
import { kubectlPaths, repoRoot, skipUnless } from '../support/skip.js';

/*
 * k8s-auth as a kubectl plugin: `kubectl k8s-auth …` makes kubectl look for an executable
 * named kubectl-k8s_auth on PATH (dashes become underscores). npm installs the package's
 * `kubectl-k8s_auth` bin entry as a symlink to bin/k8s-auth.js; this test puts the same symlink
 * in a temp dir on PATH and runs the real Debian kubectl binaries from .tools (never the
 * machine's own kubectl).
 */
const kubectls = kubectlPaths().all.filter((k) => k.available);
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-kubectl-plugin-'));
const binDir = join(dir, 'bin');
mkdirSync(binDir);
symlinkSync(join(repoRoot, 'bin', 'k8s-auth.js'), join(binDir, 'kubectl-k8s_auth'));
const catalog = join(dir, 'clusters.yaml');
writeFileSync(
  catalog,
  ['clusters:', ...['prod', 'staging'].map((name) => `  ${name}: { server: 'https://${name}.example.com:6443', issuer-url: 'https://dex.example.com/dex', client-id: k8s-auth }`)].join('\n') + '\n',
);
const env = cleanEnv({
  // node for the plugin's `#!/usr/bin/env node`, the plugin dir, and nothing that could be another kubectl
  PATH: `${binDir}:${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: dir,
  KUBECONFIG: join(dir, 'kubeconfig'),
  NO_COLOR: '1',
});

function kubectl(path: string, args: readonly string[]) {
  const run = spawnSync(path, args, { env, encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.skipIf(skipUnless(kubectls.length > 0, '.tools/bin/kubectl-* not unpacked (scripts/fetch-kubectl.sh)'))('kubectl plugin', () => {
  for (const k of kubectls) {
    describe(`kubectl ${k.version}`, () => {
      it('finds the plugin on PATH', () => {
        const run = kubectl(k.path, ['plugin', 'list']);
        expect(run.stdout).toContain(join(binDir, 'kubectl-k8s_auth'));
      });

      it('runs `kubectl k8s-auth --version`', () => {
        const run = kubectl(k.path, ['k8s-auth', '--version']);
        expect(run.stderr).toBe('');
        expect([run.code, run.stdout]).toEqual([0, `k8s-auth ${VERSION} (node ${process.version}; exec credential API client.authentication.k8s.io/v1, client.authentication.k8s.io/v1beta1)\n`]);
      });

      it('shows itself as "kubectl k8s-auth" in help', () => {
        const run = kubectl(k.path, ['k8s-auth', '--help']);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^Usage: kubectl k8s-auth \[options\] \[command\]/);
      });

      it('lists the catalog with `kubectl k8s-auth clusters --catalog FILE`', () => {
        const run = kubectl(k.path, ['k8s-auth', 'clusters', '--catalog', catalog]);
        expect(run.stderr).toBe('');
        expect([run.code, run.stdout]).toEqual([0, 'prod\nstaging\n']);
        const json = kubectl(k.path, ['k8s-auth', 'clusters', '--catalog', catalog, '-o', 'json']);
        expect(JSON.parse(json.stdout)).toEqual({ source: catalog, clusters: ['prod', 'staging'] });
      });

      it("passes the plugin's exit code and one-line error through", () => {
        const run = kubectl(k.path, ['k8s-auth', 'clusters', '--catalog', join(dir, 'missing.yaml')]);
        expect(run.code).toBe(3);
        expect(run.stdout).toBe('');
        expect(run.stderr.trim().split('\n')).toEqual([`error: catalog file ${join(dir, 'missing.yaml')} does not exist`]);
        const usage = kubectl(k.path, ['k8s-auth', 'no-such-command']);
        expect(usage.code).toBe(2);
      });
    });
  }
});

/** Like kubectl() but without blocking the event loop: the test provider runs in this process. */
function kubectlAsync(path: string, args: readonly string[], extraEnv: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(skipUnless(kubectls.length > 0, '.tools/bin/kubectl-* not unpacked (scripts/fetch-kubectl.sh)'))('kubectl k8s-auth login (password grant, real test provider)', () => {
  let provider: TestProvider;
  let loginCatalog: string;

  beforeAll(async () => {
    provider = await startTestProvider();
    loginCatalog = join(dir, 'login-clusters.yaml');
    const idpCa = Buffer.from(provider.caPem).toString('base64');
    writeFileSync(
      loginCatalog,
      ['clusters:', '  prod:', '    server: https://127.0.0.1:6443', `    issuer-url: ${provider.issuer}`, `    client-id: ${provider.clientId}`, `    idp-certificate-authority-data: ${idpCa}`, ''].join('\n'),
    );
  });
  afterAll(async () => {
    await provider?.close();
  });

  for (const k of kubectls) {
    it(`kubectl ${k.version}: \`kubectl k8s-auth login prod --grant password\` signs in and writes a 0600 kubeconfig with the user`, async () => {
      const kubeconfig = join(dir, `login-kubeconfig-${k.version}`);
      expect(existsSync(kubeconfig)).toBe(false);
      provider.resetStats();
      const run = await kubectlAsync(k.path, ['k8s-auth', 'login', 'prod', '--grant', 'password', '--username', 'jane@example.com', '--catalog', loginCatalog], {
        KUBECONFIG: kubeconfig,
        K8S_AUTH_PASSWORD: 'jane-password',
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toContain('Signed in to prod as jane@example.com');
      expect(run.stdout + run.stderr).not.toContain('jane-password');
      expect(provider.stats.password).toBe(1);
      expect(statSync(kubeconfig).mode & 0o777).toBe(0o600);
      const config = parse(readFileSync(kubeconfig, 'utf8')) as {
        'current-context': string;
        contexts: { name: string; context: Record<string, string> }[];
        users: { name: string; user: { 'auth-provider'?: { name: string; config: Record<string, string> } } }[];
      };
      expect(config['current-context']).toBe('prod');
      expect(config.contexts).toEqual([{ name: 'prod', context: { cluster: 'prod', user: 'jane@example.com@prod' } }]);
      expect(config.users.map((u) => u.name)).toEqual(['jane@example.com@prod']);
      const authProvider = config.users[0]?.user['auth-provider'];
      expect(authProvider?.name).toBe('oidc');
      expect(authProvider?.config['idp-issuer-url']).toBe(provider.issuer);
      expect(authProvider?.config['id-token']).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    });
  }
});
