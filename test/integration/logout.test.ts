// `k8s-auth logout` against the real test provider: the tokens leave the kubeconfig under its
// lock BEFORE the refresh token is revoked, so a held `<kubeconfig>.lock` means nothing is
// revoked and the file keeps its tokens; a second logout says there was nothing to remove.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { cleanEnv, cliEntry, runCli } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';

let provider: TestProvider;
let dir: TempDir;

const REFRESH_TOKEN = 'refresh-token-value-for-logout-test';

function writeLogin(path: string, idToken: string): void {
  const b64 = Buffer.from(provider.caPem).toString('base64');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'current-context: prod',
      'clusters:',
      '- name: prod',
      '  cluster:',
      '    server: https://127.0.0.1:6443',
      'contexts:',
      '- name: prod',
      '  context:',
      '    cluster: prod',
      '    user: jane@prod',
      'users:',
      '- name: jane@prod',
      '  user:',
      '    auth-provider:',
      '      name: oidc',
      '      config:',
      `        idp-issuer-url: ${provider.issuer}`,
      `        client-id: ${provider.clientId}`,
      `        idp-certificate-authority-data: ${b64}`,
      `        id-token: ${idToken}`,
      `        refresh-token: ${REFRESH_TOKEN}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

function oidcConfig(path: string): Record<string, string> {
  const doc = parse(readFileSync(path, 'utf8')) as { users: { user: { 'auth-provider': { config: Record<string, string> } } }[] };
  return doc.users[0]?.user['auth-provider'].config ?? {};
}

beforeAll(async () => {
  provider = await startTestProvider();
  dir = tempDir('k8s-auth-logout-');
});

afterAll(async () => {
  await provider?.close();
  dir?.remove();
});

describe('logout', () => {
  it('with <kubeconfig>.lock held: times out (exit 11), revokes nothing, leaves the tokens in place', async () => {
    const kubeconfig = dir.file('kc-locked.yaml');
    writeLogin(kubeconfig, await provider.mintIdToken());
    // a live holder on this host (this test process), so the lock is not taken for stale
    writeFileSync(`${kubeconfig}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), createdAt: new Date().toISOString() }));
    provider.resetStats();
    try {
      const run = await runCli(['logout', 'prod', '--kubeconfig', kubeconfig], cleanEnv({ HOME: dir.path }), { timeoutMs: 30_000 });
      expect(run.code, run.stderr).toBe(11);
      expect(run.stderr).toMatch(/lock/);
      expect(provider.stats.revocations).toBe(0);
      expect(oidcConfig(kubeconfig)['refresh-token']).toBe(REFRESH_TOKEN);
      expect(run.stderr).not.toContain(REFRESH_TOKEN);
    } finally {
      rmSync(`${kubeconfig}.lock`, { force: true });
    }
  }, 40_000);

  it('removes the tokens, then revokes; a second logout says there is nothing to remove (exit 0, no revocation)', async () => {
    const kubeconfig = dir.file('kc-twice.yaml');
    writeLogin(kubeconfig, await provider.mintIdToken());
    provider.resetStats();
    const first = await runCli(['logout', 'prod', '--kubeconfig', kubeconfig], cleanEnv({ HOME: dir.path }));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/Logged out of prod: removed the tokens of jane@prod; refresh token revoked at the provider/);
    expect(provider.stats.revocations).toBe(1);
    expect(Object.keys(oidcConfig(kubeconfig)).sort()).toEqual(['client-id', 'idp-certificate-authority-data', 'idp-issuer-url']);
    expect(existsSync(`${kubeconfig}.lock`)).toBe(false);

    const second = await runCli(['logout', 'prod', '--kubeconfig', kubeconfig], cleanEnv({ HOME: dir.path }));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr.trim()).toBe('Nothing to remove for prod: jane@prod holds no tokens (already logged out); sign in with `k8s-auth login prod`');
    expect(provider.stats.revocations).toBe(1);
  });

  it('shows a spinner on a terminal while it revokes, none when piped', async () => {
    const kubeconfig = dir.file('kc-tty.yaml');
    writeLogin(kubeconfig, await provider.mintIdToken());
    const command = [process.execPath, cliEntry, 'logout', 'prod', '--kubeconfig', kubeconfig].join(' ');
    const tty = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', `stty cols 120 rows 30; ${command}`, '/dev/null'], { env: cleanEnv({ HOME: dir.path, CI: '' }), cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
    expect(tty.code, tty.output).toBe(0);
    expect(tty.output).toContain('revoking the refresh token at the identity provider…');
    expect(tty.output).toContain('Logged out of prod');
    writeLogin(kubeconfig, await provider.mintIdToken());
    const piped = await runCli(['logout', 'prod', '--kubeconfig', kubeconfig], cleanEnv({ HOME: dir.path }));
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).not.toContain('revoking');
  });
});
