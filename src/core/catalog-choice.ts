import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from '../errors.js';

/**
 * Which catalog a command reads (docs/configuration.md, "Choosing the catalog"):
 *  1. --catalog FILE or K8S_AUTH_CATALOG: that file;
 *  2. else, when VAULT_ADDR is set: Vault KV v2 at --vault-mount / --vault-prefix
 *     (env K8S_AUTH_VAULT_MOUNT / K8S_AUTH_VAULT_PREFIX, defaults `secret` / `k8s-auth/clusters`);
 *  3. else the file $XDG_CONFIG_HOME/k8s-auth/clusters.yaml (~/.config/k8s-auth/clusters.yaml).
 * Nothing heavy is loaded until the catalog is first used.
 */
export interface CatalogOptions {
  catalog?: string;
  /** Only from the command line; the env fallback is read in catalogFromOptions. */
  vaultMount?: string;
  vaultPrefix?: string;
  /** --http-timeout as commander gives it (a string) or a number of seconds, for Vault requests. */
  httpTimeout?: string | number;
}

type Env = Record<string, string | undefined>;

export function defaultCatalogPath(env: Env = process.env, home: string = homedir()): string {
  const xdg = env['XDG_CONFIG_HOME']?.trim();
  return join(xdg ? xdg : join(home, '.config'), 'k8s-auth', 'clusters.yaml');
}

export type CatalogChoice =
  | { kind: 'file'; path: string; explicit: boolean }
  | { kind: 'vault'; mount: string; prefix: string };

/** The rule above, without I/O. */
export function chooseCatalog(opts: CatalogOptions, env: Env = process.env, home: string = homedir()): CatalogChoice {
  const file = opts.catalog?.trim() || env['K8S_AUTH_CATALOG']?.trim();
  const vaultFlag = opts.vaultMount !== undefined || opts.vaultPrefix !== undefined;
  if (file) {
    if (vaultFlag) throw new CliError(ExitCode.USAGE, '--vault-mount/--vault-prefix cannot be combined with --catalog (or K8S_AUTH_CATALOG)');
    return { kind: 'file', path: file, explicit: true };
  }
  if (env['VAULT_ADDR']?.trim()) {
    return {
      kind: 'vault',
      mount: opts.vaultMount ?? (env['K8S_AUTH_VAULT_MOUNT']?.trim() || 'secret'),
      prefix: opts.vaultPrefix ?? (env['K8S_AUTH_VAULT_PREFIX']?.trim() ?? 'k8s-auth/clusters'),
    };
  }
  if (vaultFlag) throw new CliError(ExitCode.USAGE, '--vault-mount/--vault-prefix need VAULT_ADDR: export the address of your Vault');
  return { kind: 'file', path: defaultCatalogPath(env, home), explicit: false };
}
