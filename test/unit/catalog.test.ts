import { describe, expect, it } from 'vitest';
import { catalogFileEntry, catalogFileNames, parseCatalogFile } from '../../src/core/catalog-file.js';
import { chooseCatalog, defaultCatalogPath } from '../../src/core/catalog-choice.js';
import { httpTimeoutMs } from '../../src/config/sign-in-flags.js';
import { parseVaultBool } from '../../src/adapters/vault-client.js';
import { ExitCode } from '../../src/errors.js';
import { cliErrorOf } from '../support/cli-error.js';

const PEM = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

const failure = cliErrorOf;

describe('catalog file parsing', () => {
  const source = '/home/me/.config/k8s-auth/clusters.yaml';
  const content = parseCatalogFile(
    {
      clusters: {
        prod: { server: 'https://prod:6443', 'issuer-url': 'https://dex.example/dex', 'client-id': 'k8s', 'extra-scopes': 'a, b c', 'idp-certificate-authority-data': PEM },
        broken: { server: 'https://x', 'client-id': 'k8s' },
        typo: { server: 'https://x', 'issuer-url': 'https://i', 'client-id': 'k', issuer_url: 'https://i' },
      },
    },
    source,
  );

  it('lists names sorted and parses an entry with defaults', () => {
    expect(catalogFileNames(content)).toEqual(['broken', 'prod', 'typo']);
    expect(catalogFileEntry(content, 'prod', source)).toEqual({
      name: 'prod',
      server: 'https://prod:6443',
      issuerUrl: 'https://dex.example/dex',
      clientId: 'k8s',
      extraScopes: ['a', 'b', 'c'],
      idpCertificateAuthorityData: PEM,
      usernameClaim: 'email',
      groupsClaim: 'groups',
    });
  });

  it('names the cluster, the source and the field of a malformed entry (exit CATALOG)', () => {
    const e = failure(() => catalogFileEntry(content, 'broken', source));
    expect(e.exitCode).toBe(ExitCode.CATALOG);
    expect(e.message).toBe(`cluster 'broken' in ${source}: required field 'issuer-url' is missing`);
    expect(failure(() => catalogFileEntry(content, 'typo', source)).message).toMatch(/^cluster 'typo' in .*: unknown field 'issuer_url'/);
  });

  it('names the known clusters when one is missing', () => {
    const e = failure(() => catalogFileEntry(content, 'dev', source));
    expect(e.exitCode).toBe(ExitCode.CATALOG);
    expect(e.message).toBe(`cluster 'dev' not found in ${source} (known: broken, prod, typo)`);
  });

  it('refuses files of the wrong shape with one line', () => {
    expect(failure(() => parseCatalogFile(null, 'f.yaml')).message).toMatch(/is empty/);
    expect(failure(() => parseCatalogFile(['a'], 'f.yaml')).message).toBe("catalog file f.yaml must be a mapping with a 'clusters:' key");
    expect(failure(() => parseCatalogFile({ cluster: {} }, 'f.yaml')).message).toMatch(/unknown top-level key 'cluster'/);
    expect(failure(() => parseCatalogFile({ clusters: ['prod'] }, 'f.yaml')).message).toMatch(/'clusters' must be a mapping .* not a list/);
    expect(catalogFileNames(parseCatalogFile({ clusters: null }, 'f.yaml'))).toEqual([]);
  });

  it('refuses a cluster name that is not plain', () => {
    expect(failure(() => catalogFileEntry(content, '../etc', source)).exitCode).toBe(ExitCode.USAGE);
  });
});

describe('choosing the catalog', () => {
  const home = '/home/me';
  it('prefers --catalog, then K8S_AUTH_CATALOG', () => {
    expect(chooseCatalog({ catalog: 'a.yaml' }, { VAULT_ADDR: 'https://v', K8S_AUTH_CATALOG: 'b.yaml' }, home)).toEqual({ kind: 'file', path: 'a.yaml', explicit: true });
    expect(chooseCatalog({}, { VAULT_ADDR: 'https://v', K8S_AUTH_CATALOG: 'b.yaml' }, home)).toEqual({ kind: 'file', path: 'b.yaml', explicit: true });
  });
  it('uses Vault when VAULT_ADDR is set, with flag > env > default mount and prefix', () => {
    expect(chooseCatalog({}, { VAULT_ADDR: 'https://v' }, home)).toEqual({ kind: 'vault', mount: 'secret', prefix: 'k8s-auth/clusters' });
    expect(chooseCatalog({}, { VAULT_ADDR: 'https://v', K8S_AUTH_VAULT_MOUNT: 'kv', K8S_AUTH_VAULT_PREFIX: 'teams/a' }, home)).toEqual({ kind: 'vault', mount: 'kv', prefix: 'teams/a' });
    expect(chooseCatalog({ vaultMount: 'm', vaultPrefix: 'p' }, { VAULT_ADDR: 'https://v', K8S_AUTH_VAULT_MOUNT: 'kv' }, home)).toEqual({ kind: 'vault', mount: 'm', prefix: 'p' });
  });
  it('falls back to the default file, honouring XDG_CONFIG_HOME', () => {
    expect(chooseCatalog({}, {}, home)).toEqual({ kind: 'file', path: '/home/me/.config/k8s-auth/clusters.yaml', explicit: false });
    expect(defaultCatalogPath({ XDG_CONFIG_HOME: '/xdg' }, home)).toBe('/xdg/k8s-auth/clusters.yaml');
  });
  it('refuses Vault flags that cannot apply', () => {
    expect(failure(() => chooseCatalog({ vaultMount: 'm' }, {}, home)).message).toMatch(/need VAULT_ADDR/);
    expect(failure(() => chooseCatalog({ catalog: 'a', vaultPrefix: 'p' }, { VAULT_ADDR: 'x' }, home)).exitCode).toBe(ExitCode.USAGE);
  });
  it('parses --http-timeout seconds', () => {
    expect(httpTimeoutMs(undefined)).toBe(30_000);
    expect(httpTimeoutMs('2.5')).toBe(2500);
    expect(httpTimeoutMs('2m')).toBe(120_000);
    expect(failure(() => httpTimeoutMs('0')).exitCode).toBe(ExitCode.USAGE);
    expect(failure(() => httpTimeoutMs('soon')).exitCode).toBe(ExitCode.USAGE);
  });
  it('reads VAULT_SKIP_VERIFY like the vault CLI (Go ParseBool)', () => {
    expect(parseVaultBool('VAULT_SKIP_VERIFY', undefined)).toBe(false);
    expect(parseVaultBool('VAULT_SKIP_VERIFY', 'true')).toBe(true);
    expect(parseVaultBool('VAULT_SKIP_VERIFY', '1')).toBe(true);
    expect(parseVaultBool('VAULT_SKIP_VERIFY', 'false')).toBe(false);
    expect(failure(() => parseVaultBool('VAULT_SKIP_VERIFY', 'yes')).exitCode).toBe(ExitCode.USAGE);
  });
});
