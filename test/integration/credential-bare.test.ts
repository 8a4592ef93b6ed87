// A bare `k8s-auth credential <cluster>` after `k8s-auth login <cluster> --exec` (issue 13):
// the cache entry that serves the cluster is found in the cache directory alone, on the hot path
// and on the full path (--verbose), with a Vault that cannot be reached and a catalog that is
// gone, so any read of either would fail the run. Several identities for one cluster: one line
// naming them and how to pick, exit 2.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/adapters/atomic-file.js';
import { CLUSTER, decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { runCli, type CliRun } from '../support/run-cli.js';

const token = (run: CliRun): string => (JSON.parse(run.stdout) as { status: { token: string } }).status.token;

/** A loopback port nobody listens on: a Vault there refuses every connection. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('credential <cluster> alone, after login --exec', () => {
  let fx: CredentialFixture;
  let kubeconfig: string;
  let cacheDir: string;
  let deadVault: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    kubeconfig = join(fx.dir, 'kubeconfig');
    // the default cache directory of the throwaway HOME: what a user who passed no flag has
    cacheDir = join(fx.home, '.kube', 'cache', 'k8s-auth');
    deadVault = `http://127.0.0.1:${await closedPort()}`;
  });
  afterAll(async () => {
    await fx?.close();
  });
  beforeEach(() => {
    fx.op.resetStats();
  });

  const login = (email: string, password: string, ...extra: string[]) =>
    runCli(['login', CLUSTER, '--exec', '--grant', 'password', '--username', email, '--kubeconfig', kubeconfig, ...extra], fx.env({ K8S_AUTH_PASSWORD: password }));
  /** No catalog file, and Vault selected but unreachable: reading either fails the run. */
  const noCatalog = (extra: Record<string, string> = {}) => fx.env({ K8S_AUTH_CATALOG: undefined, VAULT_ADDR: deadVault, VAULT_TOKEN: 'unused-token', KUBERNETES_EXEC_INFO: execInfo(false), ...extra });

  it('one cached identity: the bare call answers from the cache, hot path and full path, never reading Vault', async () => {
    const signedIn = await login('jane@example.com', 'jane-password');
    expect(signedIn.code, signedIn.stderr).toBe(0);
    fx.op.resetStats();
    const files = readdirSync(cacheDir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const entry = JSON.parse(readFileSync(join(cacheDir, files[0] as string), 'utf8')) as Record<string, unknown>;
    // login --exec keys the entry by the person (the defect: a bare call without that hint missed it)
    expect(entry['loginHint']).toBe('jane@example.com');
    expect(entry['clusters']).toEqual([CLUSTER]);

    // the Vault really is unreachable: a command that must read the catalog fails on it
    const needsCatalog = await runCli(['clusters'], noCatalog());
    expect(needsCatalog.code).toBe(4);

    const hot = await runCli(['credential', CLUSTER], noCatalog());
    expect(hot.code, hot.stderr).toBe(0);
    expect(hot.stderr).toBe('');
    expect(token(hot)).toBe(entry['idToken']);

    const full = await runCli(['credential', CLUSTER, '--verbose'], noCatalog());
    expect(full.code, full.stderr).toBe(0);
    expect(token(full)).toBe(entry['idToken']);
    expect(full.stderr).toContain(`serves '${CLUSTER}'`);
    expect(full.stderr).not.toMatch(/vault/i);
    expect(fx.op.stats.refresh_token + fx.op.stats.password).toBe(0);
  });

  it('the catalog file removed after login: the bare call still answers, and renews an expired token from the cache', async () => {
    const moved = join(fx.dir, 'catalog-moved-away.yaml');
    writeFileAtomic(moved, readFileSync(fx.catalogFile, 'utf8'));
    await rm(fx.catalogFile);
    try {
      const env = fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) });
      expect(existsSync(fx.catalogFile)).toBe(false);
      const fresh = await runCli(['credential', CLUSTER], env);
      expect(fresh.code, fresh.stderr).toBe(0);

      // expire the cached ID token in place: the refresh uses the connection details in the entry
      const file = join(cacheDir, readdirSync(cacheDir).find((f) => f.endsWith('.json')) as string);
      const entry = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
      writeFileAtomic(file, JSON.stringify({ ...entry, idToken: expired }));
      fx.op.resetStats();
      const renewed = await runCli(['credential', CLUSTER], env);
      expect(renewed.code, renewed.stderr).toBe(0);
      expect(token(renewed)).not.toBe(expired);
      expect(decodeClaims(token(renewed))['email']).toBe('jane@example.com');
      expect(fx.op.stats.refresh_token).toBe(1);
      // and the same with Vault selected and dead
      writeFileAtomic(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), idToken: expired }));
      const viaDeadVault = await runCli(['credential', CLUSTER], noCatalog());
      expect(viaDeadVault.code, viaDeadVault.stderr).toBe(0);
      expect(fx.op.stats.refresh_token).toBe(2);
    } finally {
      writeFileAtomic(fx.catalogFile, readFileSync(moved, 'utf8'));
    }
  });

  it('two cached identities for the cluster: one line naming both and how to pick, exit 2; --login-hint picks', async () => {
    const ops = await login('ops@example.com', 'ops-password', '--context-name', 'dev-ops');
    expect(ops.code, ops.stderr).toBe(0);
    fx.op.resetStats();
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.json'))).toHaveLength(2);

    const ambiguous = await runCli(['credential', CLUSTER], noCatalog());
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stdout).toBe('');
    expect(ambiguous.stderr).toBe(
      `error: 2 cached sign-ins serve '${CLUSTER}' (jane@example.com; ops@example.com): pick one with --login-hint, e.g. \`k8s-auth credential ${CLUSTER} --login-hint jane@example.com\`\n`,
    );

    const picked = await runCli(['credential', CLUSTER, '--login-hint', 'ops@example.com'], noCatalog());
    expect(picked.code, picked.stderr).toBe(0);
    expect(decodeClaims(token(picked))['email']).toBe('ops@example.com');
    const pickedFull = await runCli(['credential', CLUSTER, '--login-hint', 'jane@example.com', '--verbose'], noCatalog());
    expect(pickedFull.code, pickedFull.stderr).toBe(0);
    expect(decodeClaims(token(pickedFull))['email']).toBe('jane@example.com');
    expect(fx.op.stats.refresh_token + fx.op.stats.password).toBe(0);
  });
});
