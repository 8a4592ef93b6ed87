// Issue 17, point 5: one exit code for one situation. The same logged-out kubeconfig (an exec
// plugin user whose token cache entry logout removed, or an auth-provider user whose tokens it
// removed) makes `whoami`, `token` and `rbac list` all exit 10 with the same one-line, un-nested
// "needs a sign-in" message, decided before any network call: the API server records no request,
// the provider counts no token request, and each run finishes quickly. Real CLI, real test
// provider (password grant), the recording Kubernetes API double.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { base64, writeCatalog } from '../support/login-harness.js';
import { cliEntry, runCli, type CliRun } from '../support/run-cli.js';

const JANE = { login: 'jane@example.com', password: 'jane-password' };
/** Node's start plus reading two files; a network wait (3.4 s before the fix) is far above it. */
const QUICK_MS = 2500;

describe('a logged-out kubeconfig is exit 10 everywhere, before the network', () => {
  let fx: CredentialFixture;
  let api: KubeApiDouble;
  let catalog: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    api = await startKubeApiDouble();
    catalog = writeCatalog(`${fx.dir}/catalog.yaml`, {
      lab: { server: api.url, 'certificate-authority-data': base64(api.ca.certPem), 'issuer-url': fx.op.issuer, 'client-id': fx.op.clientId, 'idp-certificate-authority-data': base64(fx.op.caPem) },
    });
  });
  afterAll(async () => {
    await api?.close();
    await fx?.close();
  });

  const login = (kubeconfig: string, ...extra: string[]) =>
    runCli(['login', 'lab', '--grant', 'password', '--username', JANE.login, '--kubeconfig', kubeconfig, '--catalog', catalog, ...extra], fx.env({ K8S_AUTH_PASSWORD: JANE.password }));
  const tokenRequests = () => fx.op.stats.password + fx.op.stats.refresh_token + fx.op.stats.authorization_code + fx.op.stats.device_code;

  async function threeCommands(kubeconfig: string): Promise<Record<string, CliRun>> {
    const env = fx.env({ K8S_AUTH_CATALOG: catalog });
    return {
      whoami: await runCli(['whoami', 'lab', '--kubeconfig', kubeconfig], env),
      token: await runCli(['token', '--ttl', '10m', '--kubeconfig', kubeconfig, '--context', 'lab'], env),
      'rbac list': await runCli(['rbac', 'list', '--kubeconfig', kubeconfig, '--context', 'lab'], env),
    };
  }

  function expectNeedsSignIn(runs: Record<string, CliRun>, line: string): void {
    for (const [name, run] of Object.entries(runs)) {
      expect(run.code, `${name}: ${run.stderr}`).toBe(10);
      expect(run.stderr.trim().split('\n'), name).toEqual([line]);
      expect(run.stderr, name).not.toMatch(/cannot reach|error: .*error:/);
      expect(run.ms, `${name} took ${Math.round(run.ms)} ms`).toBeLessThan(QUICK_MS);
      expect(run.stdout, name).toBe('');
    }
  }

  it('an exec plugin user after logout', async () => {
    const kubeconfig = `${fx.dir}/kc-exec`;
    const signedIn = await login(kubeconfig, '--exec', '--exec-command', cliEntry, '--token-cache-dir', fx.cacheDir);
    expect(signedIn.code, signedIn.stderr).toBe(0);
    // signed in, the same command sends the cached ID token to the API server (which does not
    // know the user, 401), so the silence below is the check's doing
    const before = await runCli(['rbac', 'list', '--kubeconfig', kubeconfig, '--context', 'lab'], fx.env());
    expect(before.code, before.stderr).not.toBe(10);
    expect(api.requests.length, before.stderr).toBeGreaterThan(0);
    const out = await runCli(['logout', 'lab', '--kubeconfig', kubeconfig], fx.env());
    expect(out.code, out.stderr).toBe(0);

    api.resetRecords();
    const requestsBefore = tokenRequests();
    const runs = await threeCommands(kubeconfig);
    expectNeedsSignIn(runs, `error: 'lab' needs a sign-in: user jane@example.com@lab of context lab holds no tokens (no cached sign-in in the token cache; logged out?): run \`k8s-auth login lab --exec\``);
    expect(api.requests).toEqual([]);
    expect(tokenRequests()).toBe(requestsBefore);
  });

  it('an auth-provider user after logout, also with the provider gone', async () => {
    const kubeconfig = `${fx.dir}/kc-oidc`;
    const signedIn = await login(kubeconfig);
    expect(signedIn.code, signedIn.stderr).toBe(0);
    expect(readFileSync(kubeconfig, 'utf8')).toContain('refresh-token');
    const out = await runCli(['logout', 'lab', '--kubeconfig', kubeconfig], fx.env());
    expect(out.code, out.stderr).toBe(0);
    expect(readFileSync(kubeconfig, 'utf8')).not.toContain('refresh-token');

    const line = `error: 'lab' needs a sign-in: user jane@example.com@lab of context lab holds no tokens (no ID or refresh token in the kubeconfig; logged out?): run \`k8s-auth login lab\``;
    api.resetRecords();
    const requestsBefore = tokenRequests();
    expectNeedsSignIn(await threeCommands(kubeconfig), line);
    expect(api.requests).toEqual([]);
    expect(tokenRequests()).toBe(requestsBefore);
    // nothing is asked of the provider: with it stopped, the answer is the same
    await fx.op.close();
    await api.close();
    expectNeedsSignIn(await threeCommands(kubeconfig), line);
  });
});
