import { type Command, Option } from 'commander';
import { chooseCatalog, type CatalogOptions } from '../core/catalog-choice.js';
import { httpTimeoutMs } from './sign-in-flags.js';
import { openCatalog, type Catalog } from '../usecases/catalog.js';

// the rule itself is pure (core/catalog-choice.ts); commands import it from here with the flags
export { chooseCatalog, defaultCatalogPath, type CatalogChoice, type CatalogOptions } from '../core/catalog-choice.js';

type Env = Record<string, string | undefined>;

export function addCatalogOptions(command: Command): Command {
  return command
    .addOption(new Option('--catalog <file>', 'read clusters from this YAML file instead of Vault').env('K8S_AUTH_CATALOG'))
    .addOption(new Option('--vault-mount <mount>', 'Vault KV v2 mount of the catalog (default: $K8S_AUTH_VAULT_MOUNT, else "secret")'))
    .addOption(new Option('--vault-prefix <path>', 'path of the catalog under the mount (default: $K8S_AUTH_VAULT_PREFIX, else "k8s-auth/clusters")'));
}

/** A Catalog chosen by the rule (core/catalog-choice.ts); the adapter (node-vault or yaml) loads on first use. */
export function catalogFromOptions(opts: CatalogOptions, env: Env = process.env): Catalog {
  return openCatalog(chooseCatalog(opts, env), env, httpTimeoutMs(opts.httpTimeout));
}
