// The catalog in Vault, through the real node-vault client against the Vault double (KV v2 over
// HTTPS with its own CA): list and read paths, the vault CLI's environment (VAULT_TOKEN or
// ~/.vault-token, VAULT_NAMESPACE, VAULT_CACERT), one-line failures (403, sealed, unreachable,
// untrusted TLS, KV v1) and a full browser login whose catalog entry comes from Vault.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createVaultCatalog } from '../../src/adapters/vault-catalog.js';
import { vaultSettingsFromEnv } from '../../src/adapters/vault-client.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { skipUnless } from '../support/skip.js';
import { startVaultDouble, type VaultDouble } from '../support/vault-double.js';
import { cliErrorOfAsync } from '../support/cli-error.js';

const failure = cliErrorOfAsync;

describe('catalog in Vault (KV v2, node-vault)', () => {
  let vault: VaultDouble;
  let provider: TestProvider;
  let dir: TempDir;
  let env: Record<string, string>;
  const location = { mount: 'secret', prefix: 'k8s-auth/clusters' };

  beforeAll(async () => {
    [vault, provider] = await Promise.all([startVaultDouble({ tls: true }), startTestProvider()]);
    dir = tempDir('k8s-auth-vault-');
    env = { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token, VAULT_CACERT: String(vault.caFile) };
    const prod = { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem), namespace: 'team-a' };
    vault.putKv('secret', 'k8s-auth/clusters/prod', prod);
    vault.putKv('secret', 'k8s-auth/clusters/staging', { ...prod, server: 'https://127.0.0.1:7443' });
    vault.putKv('secret', 'k8s-auth/clusters/broken', { server: 'https://127.0.0.1:6443', 'client-id': 'k8s-auth' });
    vault.putKv('secret', 'k8s-auth/clusters/team-b/dev', prod);
    vault.putKv('kv', 'platform/clusters/edge', prod);
    vault.putKv('secret', 'k8s-auth/clusters/ns-only', prod, { namespace: 'team-ns' });
    vault.setKvVersion('legacy', 1);
    vault.putKv('legacy', 'k8s-auth/clusters/old', prod);
  });
  afterAll(async () => {
    await vault?.close();
    await provider?.close();
    dir?.remove();
  });

  it('lists with a metadata LIST and reads entries from the data path', async () => {
    vault.clearRequests();
    const catalog = createVaultCatalog(location, env);
    expect(catalog.describe()).toBe(`Vault ${vault.address} secret/k8s-auth/clusters`);
    expect(await catalog.list()).toEqual(['broken', 'prod', 'staging']);
    const entry = await catalog.get('prod');
    expect(entry).toMatchObject({ name: 'prod', server: 'https://127.0.0.1:6443', issuerUrl: provider.issuer, clientId: provider.clientId, namespace: 'team-a' });
    expect(vault.requests.map((r) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ''}`)).toEqual(['LIST /v1/secret/metadata/k8s-auth/clusters', 'GET /v1/secret/data/k8s-auth/clusters/prod']);
    expect(vault.requests.every((r) => r.hasToken)).toBe(true);
    expect(await createVaultCatalog({ mount: 'kv', prefix: '/platform/clusters/' }, env).list()).toEqual(['edge']);
  });

  it('names the cluster, the Vault path and the field of a missing or malformed entry (CATALOG)', async () => {
    const catalog = createVaultCatalog(location, env);
    const missing = await failure(() => catalog.get('nope'));
    expect(missing.exitCode).toBe(ExitCode.CATALOG);
    expect(missing.message).toBe(`cluster 'nope' not found in Vault secret/k8s-auth/clusters/nope (${vault.address}): check the name with \`k8s-auth clusters\``);
    const broken = await failure(() => catalog.get('broken'));
    expect(broken.exitCode).toBe(ExitCode.CATALOG);
    expect(broken.message).toBe("cluster 'broken' in Vault secret/k8s-auth/clusters/broken: required field 'issuer-url' is missing");
    const v1 = await failure(() => createVaultCatalog({ mount: 'legacy', prefix: 'k8s-auth/clusters' }, env).get('old'));
    expect(v1.exitCode).toBe(ExitCode.CATALOG);
    expect((await failure(() => createVaultCatalog({ mount: 'legacy', prefix: 'k8s-auth/clusters' }, env).list())).message).toMatch(/the catalog mount 'legacy' .* is KV version 1/);
    expect(await createVaultCatalog({ mount: 'secret', prefix: 'nothing/here' }, env).list()).toEqual([]);
    expect(v1.message).toBe("cluster 'old' in Vault legacy/k8s-auth/clusters/old: the mount 'legacy' is KV version 1; k8s-auth reads KV version 2 (`vault kv enable-versioning legacy`, or point --vault-mount at a KV v2 mount)");
  });

  it('sends VAULT_NAMESPACE as X-Vault-Namespace', async () => {
    vault.clearRequests();
    const catalog = createVaultCatalog(location, { ...env, VAULT_NAMESPACE: 'team-ns' });
    expect(await catalog.list()).toEqual(['ns-only']);
    expect(vault.requests.map((r) => r.namespace)).toEqual(['team-ns']);
  });

  it('turns Vault failures into one VAULT line: denied, sealed, unreachable, untrusted TLS, no token', async () => {
    const denied = await failure(() => createVaultCatalog(location, { ...env, VAULT_TOKEN: 'hvs.wrong' }).get('prod'));
    expect(denied.exitCode).toBe(ExitCode.VAULT);
    expect(denied.message).toBe(`Vault at ${vault.address} denied reading cluster 'prod' at secret/k8s-auth/clusters/prod (403 permission denied): run \`vault login\` again or ask for read access to this path`);
    expect(denied.message).not.toContain('hvs.wrong');

    vault.seal();
    try {
      const sealed = await failure(() => createVaultCatalog(location, env).list());
      expect(sealed.exitCode).toBe(ExitCode.VAULT);
      expect(sealed.message).toMatch(/is sealed or unavailable \(503\)/);
    } finally {
      vault.unseal();
    }

    const untrusted = await failure(() => createVaultCatalog(location, { VAULT_ADDR: vault.address, VAULT_TOKEN: vault.token }).list());
    expect(untrusted.exitCode).toBe(ExitCode.VAULT);
    expect(untrusted.message).toMatch(/TLS certificate of Vault at .* is not trusted .*: set VAULT_CACERT/);

    const unreachable = await failure(() => createVaultCatalog(location, { ...env, VAULT_ADDR: 'https://127.0.0.1:9' }, { timeoutMs: 2000 }).list());
    expect(unreachable.exitCode).toBe(ExitCode.VAULT);
    expect(unreachable.message).toMatch(/refused the connection/);

    const emptyHome = dir.file('empty-home');
    mkdirSync(emptyHome, { recursive: true });
    const noToken = await failure(async () => vaultSettingsFromEnv({ VAULT_ADDR: vault.address }, emptyHome));
    expect(noToken.exitCode).toBe(ExitCode.VAULT);
    expect(noToken.message).toBe('no Vault token: run `vault login` (it writes ~/.vault-token) or set VAULT_TOKEN');
  });

  it('through the CLI: reads ~/.vault-token, lists with `clusters`, and exits 3 / 4 with one line', async () => {
    const home = dir.file('home');
    mkdirSync(home);
    writeFileSync(join(home, '.vault-token'), `${vault.token}\n`, { mode: 0o600 });
    const base = cleanEnv({ HOME: home, VAULT_ADDR: vault.address, VAULT_CACERT: String(vault.caFile) });
    const listed = await startCli(['clusters', '-o', 'json'], base).exited;
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ source: `Vault ${vault.address} secret/k8s-auth/clusters`, clusters: ['broken', 'prod', 'staging'] });
    const custom = await startCli(['clusters', '--vault-mount', 'kv', '--vault-prefix', 'platform/clusters'], base).exited;
    expect(custom.stdout).toBe('edge\n');
    const envPrefix = await startCli(['clusters'], { ...base, K8S_AUTH_VAULT_MOUNT: 'kv', K8S_AUTH_VAULT_PREFIX: 'platform/clusters' }).exited;
    expect(envPrefix.stdout).toBe('edge\n');
    const missing = await startCli(['login', 'nope', '--kubeconfig', dir.file('k')], base).exited;
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const denied = await startCli(['login', 'prod', '--kubeconfig', dir.file('k')], { ...base, VAULT_TOKEN: 'hvs.nope' }).exited;
    expect(denied.code).toBe(4);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    const noVault = await startCli(['clusters', '--vault-mount', 'kv'], cleanEnv({ HOME: home })).exited;
    expect(noVault.code).toBe(2);
  });

  describe.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed', 'vault catalog login'))('with a browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('logs in with the entry read from Vault', async () => {
      const kubeconfig = dir.file('kubeconfig-vault');
      const cli = startCli(['login', 'prod', '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv({ ...env }));
      await signInWithBrowser(browser, await cli.url, { login: 'jane@example.com', password: 'jane-password' });
      const result = await cli.exited;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toContain(vault.token);
      const config = parse(readFileSync(kubeconfig, 'utf8')) as { contexts: { name: string; context: Record<string, string> }[] };
      expect(config.contexts[0]).toEqual({ name: 'prod', context: { cluster: 'prod', user: 'jane@example.com@prod', namespace: 'team-a' } });
    });
  });
});
