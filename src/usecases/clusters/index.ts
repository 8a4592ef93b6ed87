import { randomBytes } from 'node:crypto';
import type { DexApi } from '../../adapters/dex-grpc.js';
import type { CatalogWriter } from '../../adapters/vault-catalog-write.js';
import { type AddRequest, type DexClientSpec, addSteps, clientIdFor, clusterOfClientName, planAdd, planRotate, removeSteps, rotateSteps } from '../../core/clusters/plan.js';
import { type FleetResult, apiServerConfig } from '../../core/clusters/report.js';
import { CliError, ExitCode, describeError } from '../../errors.js';
import { registerSecret } from '../../ui/redact.js';
import { warn } from '../../ui/log.js';

/**
 * `clusters add|remove|rotate-secret` (docs/fleet.md): two writes, Dex then Vault. When the
 * second fails, the first is undone, so no cluster is left half registered; when the undo
 * fails too, the error says exactly what is left and how to clear it.
 */
export type { FleetResult } from '../../core/clusters/report.js';

export interface FleetPorts {
  dex: DexApi;
  catalog: CatalogWriter;
}

/** A client secret: 32 random bytes, base64url (43 characters). */
export function newClientSecret(): string {
  const secret = randomBytes(32).toString('base64url');
  registerSecret(secret);
  return secret;
}

async function undo(what: string, step: () => Promise<unknown>, failure: unknown, left: string): Promise<never> {
  try {
    await step();
  } catch (undoError) {
    throw new CliError(ExitCode.PROVIDER, `${describeError(failure)}; undoing ${what} failed too (${describeError(undoError)}): ${left}`, { cause: failure });
  }
  warn(`undid ${what}: nothing was left behind`);
  throw failure;
}

export type AddInput = Omit<AddRequest, 'issuerUrl'> & { issuerUrl?: string; idpCaPem?: string; dryRun: boolean };

export async function addCluster(ports: FleetPorts, input: AddInput, secret: string = newClientSecret()): Promise<FleetResult> {
  const { dex, catalog } = ports;
  const issuerUrl = input.issuerUrl ?? (await dex.issuer());
  const plan = planAdd({ ...input, issuerUrl }, secret);
  const entry = catalog.secretPath(plan.cluster);
  const steps = addSteps(plan, entry);
  const result: FleetResult = { cluster: plan.cluster, clientId: plan.client.id, dryRun: input.dryRun, entry, steps, public: plan.client.public, apiServer: apiServerConfig(issuerUrl, plan.client.id, input.idpCaPem) };
  // read both sides first: refuse before touching either
  const [existingClient, existingEntry] = await Promise.all([dex.getClient(plan.client.id), catalog.read(plan.cluster)]);
  if (existingEntry !== undefined) throw new CliError(ExitCode.CATALOG, `cluster '${plan.cluster}' is already in the catalog (${entry}, version ${existingEntry.version}): remove it first (\`k8s-auth clusters remove ${plan.cluster}\`) or rotate its secret`);
  if (existingClient !== undefined) throw new CliError(ExitCode.PROVIDER, `Dex at ${dex.address} already has a client '${plan.client.id}': remove it first (\`k8s-auth clusters remove ${plan.cluster}\`)`);
  if (input.dryRun) return result;
  if (!(await dex.createClient(plan.client))) {
    // created by someone else between our read and our write: not ours to undo
    throw new CliError(ExitCode.PROVIDER, `Dex at ${dex.address} already has a client '${plan.client.id}' (created meanwhile): nothing was written`);
  }
  try {
    result.version = await catalog.write(plan.cluster, plan.record, 0);
  } catch (error) {
    return undo(`Dex client '${plan.client.id}'`, () => dex.deleteClient(plan.client.id), error, `delete it with \`k8s-auth clusters remove ${plan.cluster}\``);
  }
  return result;
}

export async function removeCluster(ports: FleetPorts, cluster: string, dryRun: boolean): Promise<FleetResult> {
  const { dex, catalog } = ports;
  const [existingEntry, byName] = await Promise.all([catalog.read(cluster), dex.getClient(clientIdFor(cluster))]);
  // the entry names its client; fall back to the ID `clusters add` gives
  const namedId = typeof existingEntry?.data?.['client-id'] === 'string' ? (existingEntry.data['client-id'] as string) : undefined;
  const named = namedId !== undefined && namedId !== clientIdFor(cluster) ? await dex.getClient(namedId) : byName;
  // only a client `clusters add` made for this cluster: an entry may name a client others share
  const client = named !== undefined && clusterOfClientName(named.name) === cluster ? named : undefined;
  if (named !== undefined && client === undefined) warn(`keeping Dex client '${named.id}': \`clusters add\` did not make it for '${cluster}' (its name is '${named.name}'), other clusters may use it`);
  const clientId = namedId ?? clientIdFor(cluster);
  const entry = catalog.secretPath(cluster);
  const steps = removeSteps(client?.id, entry, existingEntry?.version);
  const result: FleetResult = { cluster, clientId, dryRun, entry, steps };
  if (steps.length === 0) throw new CliError(ExitCode.CATALOG, `cluster '${cluster}' is neither in the catalog (${entry}) nor a client in Dex at ${dex.address}: nothing to remove`);
  if (dryRun) return result;
  if (client !== undefined) await dex.deleteClient(client.id);
  if (existingEntry !== undefined) {
    try {
      await catalog.destroy(cluster);
    } catch (error) {
      if (client === undefined) throw error;
      return undo(`the deletion of Dex client '${client.id}'`, () => recreate(dex, client), error, `Dex no longer has client '${client.id}' but the catalog still names it: run \`k8s-auth clusters remove ${cluster}\` again`);
    }
  }
  return result;
}

async function recreate(dex: DexApi, client: DexClientSpec): Promise<void> {
  if (!(await dex.createClient(client))) throw new CliError(ExitCode.PROVIDER, `a client '${client.id}' exists again in Dex at ${dex.address}`);
}

/** Replaces a confidential client, same ID and redirect URIs, new secret; Dex's API updates no secret. */
async function replaceClient(dex: DexApi, client: DexClientSpec): Promise<void> {
  await dex.deleteClient(client.id);
  await recreate(dex, client);
}

export async function rotateSecret(ports: FleetPorts, cluster: string, dryRun: boolean, secret: string = newClientSecret()): Promise<FleetResult> {
  const { dex, catalog } = ports;
  const existingEntry = await catalog.read(cluster);
  const entry = catalog.secretPath(cluster);
  if (existingEntry?.data === undefined) throw new CliError(ExitCode.CATALOG, `cluster '${cluster}' is not in the catalog (${entry}): add it with \`k8s-auth clusters add ${cluster} …\``);
  const clientId = typeof existingEntry.data['client-id'] === 'string' ? existingEntry.data['client-id'] : clientIdFor(cluster);
  const old = await dex.getClient(clientId);
  if (old === undefined) throw new CliError(ExitCode.PROVIDER, `Dex at ${dex.address} has no client '${clientId}' for cluster '${cluster}': remove the cluster and add it again`);
  if (clusterOfClientName(old.name) !== cluster) throw new CliError(ExitCode.USAGE, `Dex client '${clientId}' was not made by \`clusters add\` for '${cluster}' (its name is '${old.name}'): other clusters may share it, so its secret is not rotated here`);
  const next = planRotate(cluster, existingEntry.data, old, secret);
  const steps = rotateSteps(clientId, entry, existingEntry.version);
  const result: FleetResult = { cluster, clientId, dryRun, entry, steps };
  if (dryRun) return result;
  try {
    await replaceClient(dex, next.client);
  } catch (error) {
    // the delete may have gone through and the create not: put the old client back
    return undo(`the new secret in Dex`, async () => ((await dex.getClient(clientId)) === undefined ? recreate(dex, old) : replaceClient(dex, old)), error, `Dex client '${clientId}' may be missing: run \`k8s-auth clusters list --dex-grpc …\``);
  }
  try {
    result.version = await catalog.write(cluster, next.record, existingEntry.version);
  } catch (error) {
    return undo(`the new secret in Dex`, () => replaceClient(dex, old), error, `Dex holds the new secret, the catalog the old one: run \`k8s-auth clusters rotate-secret ${cluster}\` again`);
  }
  return result;
}
