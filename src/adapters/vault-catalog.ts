import { type ClusterEntry, checkClusterName, parseClusterEntry } from '../core/cluster-entry.js';
import { CliError, ExitCode } from '../errors.js';
import type { Catalog } from '../usecases/catalog.js';
import { debug } from '../ui/log.js';
import { type VaultClient, type VaultClientOptions, vaultClientFromSettings, vaultError, vaultSettingsFromEnv } from './vault-client.js';

export const DEFAULT_VAULT_MOUNT = 'secret';
export const DEFAULT_VAULT_PREFIX = 'k8s-auth/clusters';

export interface VaultCatalogLocation {
  mount: string;
  prefix: string;
}

/** Mount and prefix without stray slashes, so paths join predictably. */
export function normalizeVaultLocation(location: VaultCatalogLocation): VaultCatalogLocation {
  const trim = (s: string) => s.trim().replace(/^\/+|\/+$/g, '');
  const mount = trim(location.mount);
  if (!mount) throw new CliError(ExitCode.USAGE, 'the Vault mount must not be empty');
  return { mount, prefix: trim(location.prefix) };
}

/**
 * The catalog in Vault KV version 2: cluster `prod` is the secret `<prefix>/prod` under `<mount>`,
 * read at `<mount>/data/<prefix>/prod` and listed at `<mount>/metadata/<prefix>`.
 */
export class VaultCatalog implements Catalog {
  private readonly location: VaultCatalogLocation;

  constructor(
    private readonly client: VaultClient,
    location: VaultCatalogLocation,
    private readonly address: string,
  ) {
    this.location = normalizeVaultLocation(location);
  }

  /** `secret/k8s-auth/clusters/prod`: the path as `vault kv get` takes it. */
  secretPath(name: string): string {
    return kvPath(this.location, 'secret', name);
  }

  describe(): string {
    const { mount, prefix } = this.location;
    return `Vault ${this.address} ${[mount, prefix].filter((s) => s !== '').join('/')}`;
  }

  async list(): Promise<string[]> {
    const { mount } = this.location;
    const path = kvPath(this.location, 'metadata', '');
    let body: unknown;
    try {
      body = await this.client.list(path);
    } catch (error) {
      // Vault answers 404 to a LIST with no keys under the path (and a KV v1 mount to any metadata path)
      if (vaultStatusOf(error) === 404) {
        if ((await this.kvVersion()) === '1') {
          throw new CliError(ExitCode.CATALOG, `the catalog mount '${mount}' in Vault at ${this.address} is KV version 1; k8s-auth reads KV version 2 (\`vault kv enable-versioning ${mount}\`, or point --vault-mount at a KV v2 mount)`);
        }
        return [];
      }
      throw vaultError(error, `listing ${this.secretPath('')}`, this.address);
    }
    const keys = (body as { data?: { keys?: unknown } } | undefined)?.data?.keys;
    if (!Array.isArray(keys)) throw new CliError(ExitCode.VAULT, `Vault at ${this.address} answered the list of ${this.secretPath('')} without keys: is the mount '${mount}' KV version 2?`);
    // sub-folders end with '/': they are not clusters
    return keys.filter((k): k is string => typeof k === 'string' && !k.endsWith('/')).sort();
  }

  /**
   * The mount's KV version as the vault CLI learns it (sys/internal/ui/mounts), or undefined
   * when Vault won't say. Only asked on the error path.
   */
  private async kvVersion(): Promise<string | undefined> {
    try {
      const body = (await this.client.read(`sys/internal/ui/mounts/${this.location.mount}`)) as { data?: { type?: unknown; options?: { version?: unknown } | null } };
      if (body.data?.type !== 'kv') return undefined;
      const version = body.data.options?.version;
      return typeof version === 'string' && version !== '' ? version : '1';
    } catch {
      return undefined;
    }
  }

  async get(name: string): Promise<ClusterEntry> {
    checkClusterName(name);
    const { mount } = this.location;
    const source = `Vault ${this.secretPath(name)}`;
    const path = kvPath(this.location, 'data', name);
    debug(`reading ${source} from ${this.address}`);
    let body: unknown;
    try {
      body = await this.client.read(path);
    } catch (error) {
      if (vaultStatusOf(error) === 404) {
        // KV v2 answers a deleted or destroyed latest version with 404 and its metadata; the
        // list still names it, so "not found, check `k8s-auth clusters`" would send the user in a circle
        const gone = deletedVersion((error as { response?: { body?: unknown } }).response?.body);
        if (gone !== undefined) {
          const how = gone.destroyed ? 'destroyed' : `deleted${gone.deletionTime ? ` at ${gone.deletionTime}` : ''}`;
          const fix = gone.destroyed ? 'write it again (`vault kv put`)' : `\`vault kv undelete -versions=${gone.version} ${this.secretPath(name)}\`, or write it again`;
          throw new CliError(ExitCode.CATALOG, `cluster '${name}' in ${source}: its latest version (${gone.version}) was ${how}: ${fix}`, { cause: error });
        }
        // a KV version 1 mount also answers 404 at <mount>/data/…: say so rather than "not found"
        if ((await this.kvVersion()) === '1') {
          throw new CliError(ExitCode.CATALOG, `cluster '${name}' in ${source}: the mount '${mount}' is KV version 1; k8s-auth reads KV version 2 (\`vault kv enable-versioning ${mount}\`, or point --vault-mount at a KV v2 mount)`, { cause: error });
        }
        throw new CliError(ExitCode.CATALOG, `cluster '${name}' not found in ${source} (${this.address}): check the name with \`k8s-auth clusters\``, { cause: error });
      }
      throw vaultError(error, `reading cluster '${name}' at ${this.secretPath(name)}`, this.address);
    }
    const data = (body as { data?: { data?: unknown } } | undefined)?.data?.data;
    if (data === undefined) {
      throw new CliError(ExitCode.CATALOG, `cluster '${name}' in ${source}: the secret has no KV version 2 data (is the mount '${mount}' KV version 2?)`);
    }
    if (data === null) throw new CliError(ExitCode.CATALOG, `cluster '${name}' not found in ${source}: its latest version is deleted`);
    return parseClusterEntry(name, data, source);
  }
}

/** The version metadata of a KV v2 404 for a deleted or destroyed latest version, else undefined. */
function deletedVersion(body: unknown): { version: number; deletionTime: string; destroyed: boolean } | undefined {
  const data = (body as { data?: { data?: unknown; metadata?: { version?: unknown; deletion_time?: unknown; destroyed?: unknown } } } | undefined)?.data;
  if (data === undefined || data === null || data.data !== null || typeof data.metadata !== 'object' || data.metadata === null) return undefined;
  const { version, deletion_time: deletionTime, destroyed } = data.metadata;
  if (typeof version !== 'number') return undefined;
  const deleted = typeof deletionTime === 'string' && deletionTime !== '';
  if (!deleted && destroyed !== true) return undefined;
  return { version, deletionTime: deleted ? deletionTime : '', destroyed: destroyed === true };
}

/** The HTTP status node-vault attached to an error, if any. */
export function vaultStatusOf(error: unknown): number | undefined {
  const status = (error as { response?: { statusCode?: unknown } } | undefined)?.response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * The catalog's KV v2 paths: `secret` is the path as `vault kv get` takes it (`secret/k8s-auth/
 * clusters/prod`), `data`/`metadata` the API paths (`secret/data/k8s-auth/clusters/prod`).
 */
export function kvPath(location: VaultCatalogLocation, kind: 'secret' | 'data' | 'metadata', name: string): string {
  const { mount, prefix } = location;
  return (kind === 'secret' ? [mount, prefix, name] : [mount, kind, prefix, name]).filter((s) => s !== '').join('/');
}

export function createVaultCatalog(location: VaultCatalogLocation, env: Record<string, string | undefined> = process.env, options: VaultClientOptions = {}): VaultCatalog {
  const settings = vaultSettingsFromEnv(env);
  return new VaultCatalog(vaultClientFromSettings(settings, options), location, settings.address);
}
