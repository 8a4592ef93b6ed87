import { type Command, Option } from 'commander';
import { chooseCatalog, type CatalogOptions } from '../core/catalog-choice.js';
import { CliError, ExitCode } from '../errors.js';
import { DATA_FORMATS, outputOption } from './output-options.js';
import { addCatalogOptions } from './catalog-options.js';
import { httpTimeoutMs, httpTimeoutOption } from './sign-in-flags.js';
import type { DexApi } from '../adapters/dex-grpc.js';
import type { CatalogWriter } from '../adapters/vault-catalog-write.js';

/** The flags `clusters add|remove|rotate-secret|list` share (docs/fleet.md). */
export interface FleetFlags extends CatalogOptions {
  dexGrpc?: string;
  dexCa?: string;
  dexCert?: string;
  dexKey?: string;
  dryRun?: boolean;
  output?: string;
}

export function addFleetOptions(command: Command, options: { dryRun: boolean }): Command {
  const dex = new Option('--dex-grpc <host:port>', "address of Dex's gRPC API (its grpc.addr)").env('K8S_AUTH_DEX_GRPC');
  addCatalogOptions(command)
    .addOption(dex)
    .addOption(new Option('--dex-ca <file>', "CA that signed Dex's gRPC server certificate, added to the system roots").env('K8S_AUTH_DEX_CA'))
    .addOption(new Option('--dex-cert <file>', 'client certificate for Dex (grpc.tlsClientCA)').env('K8S_AUTH_DEX_CERT'))
    .addOption(new Option('--dex-key <file>', 'key of --dex-cert').env('K8S_AUTH_DEX_KEY'))
    .addOption(httpTimeoutOption({ what: 'request to Dex or Vault' }))
    .addOption(outputOption(DATA_FORMATS, 'text'));
  if (options.dryRun) command.addOption(new Option('--dry-run', 'show the steps and check both sides, change nothing'));
  return command;
}

type Env = Record<string, string | undefined>;

/** Dex (when --dex-grpc is given, or required) and the Vault catalog, which must be Vault: it is written with check-and-set. */
export async function openFleet(flags: FleetFlags, dexRequired: boolean, env: Env = process.env): Promise<{ dex: DexApi | undefined; catalog: CatalogWriter }> {
  const choice = chooseCatalog(flags, env);
  if (choice.kind !== 'vault') throw new CliError(ExitCode.USAGE, `the fleet commands write the Vault catalog (KV v2, check-and-set), not the file ${choice.path}: export VAULT_ADDR (and VAULT_TOKEN)`);
  const address = flags.dexGrpc?.trim();
  if (dexRequired && !address) throw new CliError(ExitCode.USAGE, "--dex-grpc is required: the host:port of Dex's gRPC API (env K8S_AUTH_DEX_GRPC)");
  if (address && !/^[^\s/]+:\d{1,5}$/.test(address)) throw new CliError(ExitCode.USAGE, `--dex-grpc '${address}' must be host:port`);
  const timeoutMs = httpTimeoutMs(flags.httpTimeout);
  const { createCatalogWriter } = await import('../adapters/vault-catalog-write.js');
  const catalog = createCatalogWriter(choice, env, { timeoutMs });
  if (!address) return { dex: undefined, catalog };
  const { connectDex } = await import('../adapters/dex-grpc.js');
  const dex = connectDex({ address, timeoutMs, ...(flags.dexCa ? { caFile: flags.dexCa } : {}), ...(flags.dexCert ? { certFile: flags.dexCert } : {}), ...(flags.dexKey ? { keyFile: flags.dexKey } : {}) });
  return { dex, catalog };
}

/**
 * Closes the Dex channel at the end of a command. grpc-js offers no way to abort a connection
 * whose TLS handshake a silent peer never answers (it outlives the call's deadline and
 * close()), so once the command is done the process ends within a second even if that socket is
 * still open (an unref'd timer: it never delays an exit that would happen anyway).
 */
export function finishDex(dex: DexApi | undefined): void {
  dex?.close();
  setTimeout(() => process.exit(), 1_000).unref();
}
