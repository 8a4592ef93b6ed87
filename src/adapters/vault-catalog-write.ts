import { checkClusterName } from '../core/cluster-entry.js';
import { vaultErrorDetail } from '../core/vault-error-detail.js';
import { CliError, ExitCode } from '../errors.js';
import { registerSecret } from '../ui/redact.js';
import { kvPath, normalizeVaultLocation, VaultCatalog, vaultStatusOf, type VaultCatalogLocation } from './vault-catalog.js';
import { type VaultClient, type VaultClientOptions, vaultClientFromSettings, vaultError, vaultSettingsFromEnv } from './vault-client.js';

/**
 * Writes to the Vault catalog (KV v2) for `clusters add|remove|rotate-secret`: every write is
 * check-and-set (cas=0 creates only if absent, cas=N replaces only version N), so a concurrent
 * writer is never clobbered; remove deletes the metadata, so no version is left behind.
 */
export interface RawEntry {
  /** the latest version's data; undefined when that version is deleted or destroyed */
  data: Record<string, unknown> | undefined;
  version: number;
}

export interface CatalogWriter {
  describe(): string;
  /** `secret/k8s-auth/clusters/prod`, as `vault kv get` takes it */
  secretPath(name: string): string;
  read(name: string): Promise<RawEntry | undefined>;
  /** writes with cas; answers the new version */
  write(name: string, data: Record<string, unknown>, cas: number): Promise<number>;
  destroy(name: string): Promise<void>;
  list(): Promise<string[]>;
}

function bodyOf(error: unknown): unknown {
  return (error as { response?: { body?: unknown } } | undefined)?.response?.body;
}

export class VaultCatalogWriter implements CatalogWriter {
  private readonly location: VaultCatalogLocation;

  constructor(
    private readonly client: VaultClient,
    location: VaultCatalogLocation,
    private readonly address: string,
  ) {
    this.location = normalizeVaultLocation(location);
  }

  private apiPath(kind: 'data' | 'metadata', name: string): string {
    return kvPath(this.location, kind, name);
  }

  secretPath(name: string): string {
    return kvPath(this.location, 'secret', name);
  }

  describe(): string {
    return `Vault ${this.address} ${this.secretPath('').replace(/\/$/, '')}`;
  }

  async read(name: string): Promise<RawEntry | undefined> {
    checkClusterName(name);
    let body: unknown;
    try {
      body = await this.client.read(this.apiPath('data', name));
    } catch (error) {
      if (vaultStatusOf(error) === 404) {
        // a deleted latest version: 404 with its metadata, and the version CAS must name
        const version = (bodyOf(error) as { data?: { metadata?: { version?: unknown } } } | undefined)?.data?.metadata?.version;
        return typeof version === 'number' ? { data: undefined, version } : undefined;
      }
      throw vaultError(error, `reading cluster '${name}' at ${this.secretPath(name)}`, this.address);
    }
    const inner = (body as { data?: { data?: unknown; metadata?: { version?: unknown } } } | undefined)?.data;
    const version = inner?.metadata?.version;
    if (typeof version !== 'number') throw new CliError(ExitCode.VAULT, `Vault at ${this.address} answered ${this.secretPath(name)} without a KV v2 version: is the mount '${this.location.mount}' KV version 2?`);
    const data = inner?.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return { data: undefined, version };
    const secret = (data as Record<string, unknown>)['client-secret'];
    if (typeof secret === 'string') registerSecret(secret);
    return { data: data as Record<string, unknown>, version };
  }

  async write(name: string, data: Record<string, unknown>, cas: number): Promise<number> {
    checkClusterName(name);
    let body: unknown;
    try {
      body = await this.client.write(this.apiPath('data', name), { options: { cas }, data });
    } catch (error) {
      const detail = vaultErrorDetail(bodyOf(error)) ?? '';
      if (vaultStatusOf(error) === 400 && /check-and-set/i.test(detail)) {
        const what = cas === 0 ? 'it already exists' : `it is no longer at version ${cas}: someone wrote it meanwhile`;
        throw new CliError(ExitCode.CATALOG, `cluster '${name}' at ${this.secretPath(name)} was not written: ${what} (Vault refused the check-and-set)`, { cause: error });
      }
      throw vaultError(error, `writing cluster '${name}' at ${this.secretPath(name)}`, this.address);
    }
    const version = (body as { data?: { version?: unknown } } | undefined)?.data?.version;
    return typeof version === 'number' ? version : cas + 1;
  }

  async destroy(name: string): Promise<void> {
    checkClusterName(name);
    try {
      await this.client.delete(this.apiPath('metadata', name));
    } catch (error) {
      throw vaultError(error, `deleting cluster '${name}' at ${this.secretPath(name)}`, this.address);
    }
  }

  /** The catalog reader's list (a KV v1 mount or a list without keys is one clear line there). */
  list(): Promise<string[]> {
    return new VaultCatalog(this.client, this.location, this.address).list();
  }
}

export function createCatalogWriter(location: VaultCatalogLocation, env: Record<string, string | undefined> = process.env, options: VaultClientOptions = {}): VaultCatalogWriter {
  const settings = vaultSettingsFromEnv(env);
  return new VaultCatalogWriter(vaultClientFromSettings(settings, options), location, settings.address);
}
