// The catalog in Vault, through the real node-vault client against real OpenBao 2.7.2
// (`bao server -dev -dev-tls`, test/peers/openbao): KV v2 read and list, what the server's audit
// device saw (operation, path, namespace, which token), the vault CLI's environment (VAULT_TOKEN
// or ~/.vault-token, VAULT_NAMESPACE as X-Vault-Namespace in a real OpenBao namespace,
// VAULT_CACERT with the CA -dev-tls generated), one-line failures (a policy that denies, a token
// the server does not know, a server sealed with `bao operator seal`, unreachable, untrusted TLS,
// KV v1) and a full browser login whose catalog entry comes from OpenBao.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createVaultCatalog } from '../../src/adapters/vault-catalog.js';
import { vaultSettingsFromEnv } from '../../src/adapters/vault-client.js';
import { ExitCode } from '../../src/errors.js';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { base64, cleanEnv, signInWithBrowser, startCli, tempDir, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { skipUnless } from '../support/skip.js';
import { cliErrorOfAsync } from '../support/cli-error.js';
import { OPENBAO_MISSING, openbaoAvailable, startOpenBao, type OpenBao } from '../peers/openbao/openbao.js';

const failure = cliErrorOfAsync;

describe.skipIf(skipUnless(openbaoAvailable(), OPENBAO_MISSING))('catalog in Vault (KV v2, node-vault) against OpenBao', () => {
  let bao: OpenBao;
  let provider: TestProvider;
  let dir: TempDir;
  let env: Record<string, string>;
  /** a real token whose policy may list the catalog and read staging, but not prod */
  let listOnlyToken: string;
  const location = { mount: 'secret', prefix: 'k8s-auth/clusters' };

  beforeAll(async () => {
    [bao, provider] = await Promise.all([startOpenBao({ tls: true }), startTestProvider()]);
    dir = tempDir('k8s-auth-vault-');
    env = { VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token, VAULT_CACERT: String(bao.caFile) };
    const prod = { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem), namespace: 'team-a' };
    await bao.kvPut('k8s-auth/clusters/prod', prod);
    await bao.kvPut('k8s-auth/clusters/staging', { ...prod, server: 'https://127.0.0.1:7443' });
    await bao.kvPut('k8s-auth/clusters/broken', { server: 'https://127.0.0.1:6443', 'client-id': 'k8s-auth' });
    await bao.kvPut('k8s-auth/clusters/team-b/dev', prod);
    await bao.enableSecrets('kv', 'kv', { options: { version: '2' } });
    await bao.kvPut('platform/clusters/edge', prod, { mount: 'kv' });
    await bao.createNamespace('team-ns');
    await bao.enableSecrets('secret', 'kv', { options: { version: '2' }, namespace: 'team-ns' });
    await bao.kvPut('k8s-auth/clusters/ns-only', prod, { namespace: 'team-ns' });
    await bao.enableSecrets('legacy', 'kv', { options: { version: '1' } });
    expect((await bao.api('POST', 'legacy/k8s-auth/clusters/old', prod)).status).toBe(204);
    await bao.writePolicy('catalog-list-only', [
      'path "secret/metadata/k8s-auth/clusters" { capabilities = ["list"] }',
      'path "secret/data/k8s-auth/clusters/staging" { capabilities = ["read"] }',
    ].join('\n'));
    listOnlyToken = await bao.createToken(['catalog-list-only']);
    // soft-deleted and destroyed entries, with the real CLI
    await bao.kvPut('k8s-auth/clusters/retired', prod, { mount: 'kv' });
    await bao.kvPut('k8s-auth/clusters/shredded', prod, { mount: 'kv' });
    for (const args of [['kv', 'delete', 'kv/k8s-auth/clusters/retired'], ['kv', 'destroy', '-versions=1', 'kv/k8s-auth/clusters/shredded']]) {
      const run = await bao.bao(args);
      expect(run.code, run.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await bao?.stop();
    await provider?.close();
    dir?.remove();
  });

  it('lists with a metadata LIST and reads entries from the data path, with the token it was given', async () => {
    bao.clearRequests();
    const catalog = createVaultCatalog(location, env);
    expect(catalog.describe()).toBe(`Vault ${bao.addr} secret/k8s-auth/clusters`);
    expect(await catalog.list()).toEqual(['broken', 'prod', 'staging']);
    const entry = await catalog.get('prod');
    expect(entry).toMatchObject({ name: 'prod', server: 'https://127.0.0.1:6443', issuerUrl: provider.issuer, clientId: provider.clientId, namespace: 'team-a' });
    const seen = bao.requests();
    expect(seen.map((r) => `${r.operation} ${r.path}`)).toEqual(['list secret/metadata/k8s-auth/clusters/', 'read secret/data/k8s-auth/clusters/prod']);
    const rootHmac = await bao.auditHash(bao.token);
    expect(seen.every((r) => r.tokenHmac === rootHmac && r.namespace === '' && r.error === undefined)).toBe(true);
    expect(await createVaultCatalog({ mount: 'kv', prefix: '/platform/clusters/' }, env).list()).toEqual(['edge']);
  });

  it('names the cluster, the Vault path and the field of a missing or malformed entry (CATALOG)', async () => {
    const catalog = createVaultCatalog(location, env);
    const missing = await failure(() => catalog.get('nope'));
    expect(missing.exitCode).toBe(ExitCode.CATALOG);
    expect(missing.message).toBe(`cluster 'nope' not found in Vault secret/k8s-auth/clusters/nope (${bao.addr}): check the name with \`k8s-auth clusters\``);
    const broken = await failure(() => catalog.get('broken'));
    expect(broken.exitCode).toBe(ExitCode.CATALOG);
    expect(broken.message).toBe("cluster 'broken' in Vault secret/k8s-auth/clusters/broken: required field 'issuer-url' is missing");
    const v1 = await failure(() => createVaultCatalog({ mount: 'legacy', prefix: 'k8s-auth/clusters' }, env).get('old'));
    expect(v1.exitCode).toBe(ExitCode.CATALOG);
    expect((await failure(() => createVaultCatalog({ mount: 'legacy', prefix: 'k8s-auth/clusters' }, env).list())).message).toMatch(/the catalog mount 'legacy' .* is KV version 1/);
    expect(await createVaultCatalog({ mount: 'secret', prefix: 'nothing/here' }, env).list()).toEqual([]);
    expect(v1.message).toBe("cluster 'old' in Vault legacy/k8s-auth/clusters/old: the mount 'legacy' is KV version 1; k8s-auth reads KV version 2 (`vault kv enable-versioning legacy`, or point --vault-mount at a KV v2 mount)");
  });

  it('a deleted or destroyed latest version: still listed, so the read says what happened and how to undo it (CATALOG)', async () => {
    const catalog = createVaultCatalog({ mount: 'kv', prefix: 'k8s-auth/clusters' }, env);
    expect(await catalog.list()).toEqual(['retired', 'shredded']);
    const retired = await failure(() => catalog.get('retired'));
    expect(retired.exitCode).toBe(ExitCode.CATALOG);
    expect(retired.message).toMatch(/^cluster 'retired' in Vault kv\/k8s-auth\/clusters\/retired: its latest version \(1\) was deleted at \d{4}-\d\d-\d\dT[\d:.]+Z: `vault kv undelete -versions=1 kv\/k8s-auth\/clusters\/retired`, or write it again$/);
    const shredded = await failure(() => catalog.get('shredded'));
    expect(shredded.exitCode).toBe(ExitCode.CATALOG);
    expect(shredded.message).toBe("cluster 'shredded' in Vault kv/k8s-auth/clusters/shredded: its latest version (1) was destroyed: write it again (`vault kv put`)");
    // the advice works: after `bao kv undelete` the entry reads again
    expect((await bao.bao(['kv', 'undelete', '-versions=1', 'kv/k8s-auth/clusters/retired'])).code).toBe(0);
    expect((await catalog.get('retired')).server).toBe('https://127.0.0.1:6443');
  });

  it('sends VAULT_NAMESPACE as X-Vault-Namespace: the catalog of that OpenBao namespace', async () => {
    bao.clearRequests();
    const catalog = createVaultCatalog(location, { ...env, VAULT_NAMESPACE: 'team-ns' });
    expect(await catalog.list()).toEqual(['ns-only']);
    expect((await catalog.get('ns-only')).server).toBe('https://127.0.0.1:6443');
    expect(bao.requests().map((r) => `${r.namespace} ${r.operation} ${r.path}`)).toEqual(['team-ns/ list secret/metadata/k8s-auth/clusters/', 'team-ns/ read secret/data/k8s-auth/clusters/ns-only']);
    // and the root namespace's catalog does not hold it
    expect(await createVaultCatalog(location, env).list()).not.toContain('ns-only');
  });

  it('a policy that denies: the list is allowed, reading prod is a 403 from the server (VAULT)', async () => {
    const scoped = { ...env, VAULT_TOKEN: listOnlyToken };
    expect(await createVaultCatalog(location, scoped).list()).toEqual(['broken', 'prod', 'staging']);
    expect((await createVaultCatalog(location, scoped).get('staging')).server).toBe('https://127.0.0.1:7443');
    bao.clearRequests();
    const denied = await failure(() => createVaultCatalog(location, scoped).get('prod'));
    expect(denied.exitCode).toBe(ExitCode.VAULT);
    expect(denied.message).toBe(`Vault at ${bao.addr} denied reading cluster 'prod' at secret/k8s-auth/clusters/prod (403 permission denied): run \`vault login\` again or ask for read access to this path`);
    expect(denied.message).not.toContain(listOnlyToken);
    const seen = bao.requests();
    expect(seen.map((r) => [r.operation, r.path, r.error])).toEqual([['read', 'secret/data/k8s-auth/clusters/prod', expect.stringContaining('permission denied')]]);
    expect(seen[0]?.tokenHmac).toBe(await bao.auditHash(listOnlyToken));
  });

  it('turns Vault failures into one VAULT line: unknown token, sealed, unreachable, untrusted TLS, no token', async () => {
    const denied = await failure(() => createVaultCatalog(location, { ...env, VAULT_TOKEN: 'hvs.wrong' }).get('prod'));
    expect(denied.exitCode).toBe(ExitCode.VAULT);
    expect(denied.message).toBe(`Vault at ${bao.addr} denied reading cluster 'prod' at secret/k8s-auth/clusters/prod (403 permission denied): run \`vault login\` again or ask for read access to this path`);
    expect(denied.message).not.toContain('hvs.wrong');

    await bao.seal();
    try {
      const sealed = await failure(() => createVaultCatalog(location, env).list());
      expect(sealed.exitCode).toBe(ExitCode.VAULT);
      expect(sealed.message).toBe(`Vault at ${bao.addr} is sealed or unavailable (503) while listing secret/k8s-auth/clusters: try again once it is unsealed`);
    } finally {
      await bao.unseal();
    }
    expect(await createVaultCatalog(location, env).list()).toEqual(['broken', 'prod', 'staging']);

    const untrusted = await failure(() => createVaultCatalog(location, { VAULT_ADDR: bao.addr, VAULT_TOKEN: bao.token }).list());
    expect(untrusted.exitCode).toBe(ExitCode.VAULT);
    expect(untrusted.message).toMatch(/TLS certificate of Vault at .* is not trusted .*: set VAULT_CACERT/);

    const unreachable = await failure(() => createVaultCatalog(location, { ...env, VAULT_ADDR: 'https://127.0.0.1:9' }, { timeoutMs: 2000 }).list());
    expect(unreachable.exitCode).toBe(ExitCode.VAULT);
    expect(unreachable.message).toMatch(/refused the connection/);

    const emptyHome = dir.file('empty-home');
    mkdirSync(emptyHome, { recursive: true });
    const noToken = await failure(async () => vaultSettingsFromEnv({ VAULT_ADDR: bao.addr }, emptyHome));
    expect(noToken.exitCode).toBe(ExitCode.VAULT);
    expect(noToken.message).toBe('no Vault token: run `vault login` (it writes ~/.vault-token) or set VAULT_TOKEN');
  });

  it('through the CLI: reads ~/.vault-token (that token reaches the server), lists with `clusters`, and exits 3 / 4 with one line', async () => {
    const home = dir.file('home');
    mkdirSync(home);
    writeFileSync(join(home, '.vault-token'), `${listOnlyToken}\n`, { mode: 0o600 });
    const base = cleanEnv({ HOME: home, VAULT_ADDR: bao.addr, VAULT_CACERT: String(bao.caFile) });
    bao.clearRequests();
    const listed = await startCli(['clusters', '-o', 'json'], base).exited;
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ source: `Vault ${bao.addr} secret/k8s-auth/clusters`, clusters: ['broken', 'prod', 'staging'] });
    // the request carried the file's token, not another one
    const fileHmac = await bao.auditHash(listOnlyToken);
    expect(bao.requests().filter((r) => r.path === 'secret/metadata/k8s-auth/clusters/').map((r) => r.tokenHmac)).toEqual([fileHmac]);
    // VAULT_TOKEN wins over the file, as for the vault CLI
    bao.clearRequests();
    const custom = await startCli(['clusters', '--vault-mount', 'kv', '--vault-prefix', 'platform/clusters'], { ...base, VAULT_TOKEN: bao.token }).exited;
    expect(custom.stdout, custom.stderr).toBe('edge\n');
    expect(bao.requests().map((r) => r.tokenHmac)).toEqual([await bao.auditHash(bao.token)]);
    const envPrefix = await startCli(['clusters'], { ...base, VAULT_TOKEN: bao.token, K8S_AUTH_VAULT_MOUNT: 'kv', K8S_AUTH_VAULT_PREFIX: 'platform/clusters' }).exited;
    expect(envPrefix.stdout).toBe('edge\n');
    // a cluster that does not exist: exit 3 for a token that may read there; Vault answers a
    // token without read access 403 whether the path exists or not, so the file's token gets 4
    const missing = await startCli(['login', 'nope', '--kubeconfig', dir.file('k')], { ...base, VAULT_TOKEN: bao.token }).exited;
    expect(missing.code).toBe(3);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const missingDenied = await startCli(['login', 'nope', '--kubeconfig', dir.file('k')], base).exited;
    expect(missingDenied.code).toBe(4);
    expect(missingDenied.stderr).toMatch(/denied reading cluster 'nope' .*\(403 permission denied\)/);
    // the file's token may not read prod: a real 403, one line, exit 4
    const denied = await startCli(['login', 'prod', '--kubeconfig', dir.file('k')], base).exited;
    expect(denied.code).toBe(4);
    expect(denied.stderr).toMatch(/^error: Vault at \S+ denied reading cluster 'prod' .*\(403 permission denied\)/);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    const unknownToken = await startCli(['login', 'prod', '--kubeconfig', dir.file('k')], { ...base, VAULT_TOKEN: 'hvs.nope' }).exited;
    expect(unknownToken.code).toBe(4);
    expect(unknownToken.stderr.trim().split('\n')).toHaveLength(1);
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

    it('logs in with the entry read from OpenBao', async () => {
      const kubeconfig = dir.file('kubeconfig-vault');
      const cli = startCli(['login', 'prod', '--kubeconfig', kubeconfig, '--no-browser'], cleanEnv({ ...env }));
      await signInWithBrowser(browser, await cli.url, { login: 'jane@example.com', password: 'jane-password' });
      const result = await cli.exited;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).not.toContain(bao.token);
      const config = parse(readFileSync(kubeconfig, 'utf8')) as { contexts: { name: string; context: Record<string, string> }[] };
      expect(config.contexts[0]).toEqual({ name: 'prod', context: { cluster: 'prod', user: 'jane@example.com@prod', namespace: 'team-a' } });
    });
  });
});
