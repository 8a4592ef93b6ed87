import { CliError, ExitCode } from '../../errors.js';
import { checkClusterName, parseClusterEntry } from '../cluster-entry.js';

/**
 * `k8s-auth clusters add|remove|rotate-secret` (docs/fleet.md): what to create in Dex and write
 * into the Vault catalog for one cluster, decided without I/O. The use case
 * (usecases/clusters/index.ts) carries the steps out in order and undoes the done ones on failure.
 */

/** The Dex client ID of a cluster: also the audience its API server accepts. */
export function clientIdFor(cluster: string): string {
  return `kubernetes-${checkClusterName(cluster)}`;
}

/** The Dex client `name` that marks a client as registered by `clusters add`. */
export const MANAGED_NAME_PREFIX = 'k8s-auth cluster ';

export function clientNameFor(cluster: string): string {
  return `${MANAGED_NAME_PREFIX}${cluster}`;
}

/** The cluster a managed client's name names, else undefined (a client someone else made). */
export function clusterOfClientName(name: string): string | undefined {
  return name.startsWith(MANAGED_NAME_PREFIX) ? name.slice(MANAGED_NAME_PREFIX.length) : undefined;
}

export const DEFAULT_REDIRECT_PORT = 8000;

/**
 * Loopback redirect URIs (RFC 8252 §7.3) for a confidential client, which Dex compares
 * exactly: one port, the three loopback spellings. A public client registers none, so Dex
 * takes any loopback port (server/oauth2.go validateRedirectURI).
 */
export function redirectUrisFor(isPublic: boolean, port: number): string[] {
  if (isPublic) return [];
  if (!Number.isInteger(port) || port < 1024 || port > 65_535) throw new CliError(ExitCode.USAGE, `--redirect-port ${port} must be a port from 1024 to 65535`);
  return [`http://127.0.0.1:${port}/callback`, `http://localhost:${port}/callback`, `http://[::1]:${port}/callback`];
}

/** A Dex client as gRPC's `Client` message carries it (secret '' for a public one). */
export interface DexClientSpec {
  id: string;
  name: string;
  secret: string;
  redirectUris: string[];
  trustedPeers: string[];
  public: boolean;
}

export interface AddRequest {
  cluster: string;
  server: string;
  /** base64 of the API server's CA PEM */
  certificateAuthorityData?: string;
  issuerUrl: string;
  /** base64 of the issuer's HTTPS CA PEM, for the catalog's idp-certificate-authority-data */
  idpCertificateAuthorityData?: string;
  public: boolean;
  redirectPort: number;
  /** clients that may ask for this client's audience (Dex cross-client trust: `login --trusted-client`) */
  trustedPeers?: string[];
}

export interface AddPlan {
  cluster: string;
  client: DexClientSpec;
  /** the catalog record as Vault stores it (field names of docs/configuration.md) */
  record: Record<string, string>;
}

/** The client and the catalog record for `clusters add`; `secret` is ignored for a public client. */
export function planAdd(request: AddRequest, secret: string): AddPlan {
  const cluster = checkClusterName(request.cluster);
  const id = clientIdFor(cluster);
  const redirectUris = redirectUrisFor(request.public, request.redirectPort);
  const client: DexClientSpec = { id, name: clientNameFor(cluster), secret: request.public ? '' : secret, redirectUris, trustedPeers: [...new Set(request.trustedPeers ?? [])], public: request.public };
  const record: Record<string, string> = { server: request.server, 'issuer-url': request.issuerUrl, 'client-id': id };
  if (request.certificateAuthorityData) record['certificate-authority-data'] = request.certificateAuthorityData;
  if (request.idpCertificateAuthorityData) record['idp-certificate-authority-data'] = request.idpCertificateAuthorityData;
  if (!request.public) {
    record['client-secret'] = secret;
    record['redirect-uri'] = redirectUris[0] ?? '';
  }
  // the same checks a login makes when it reads the entry back: refuse now, not at sign-in
  parseClusterEntry(cluster, record, 'the new catalog entry');
  return { cluster, client, record };
}

/** The record with a new secret; a public client has none to rotate. */
export function planRotate(cluster: string, record: Record<string, unknown>, client: DexClientSpec, secret: string): { client: DexClientSpec; record: Record<string, unknown> } {
  if (client.public) throw new CliError(ExitCode.USAGE, `cluster '${cluster}': Dex client '${client.id}' is public and has no secret to rotate`);
  if (record['client-id'] !== client.id) {
    throw new CliError(ExitCode.CATALOG, `cluster '${cluster}': the catalog names client '${String(record['client-id'])}', not '${client.id}': fix the entry or run \`k8s-auth clusters list --dex-grpc …\``);
  }
  return { client: { ...client, secret }, record: { ...record, 'client-secret': secret } };
}

/** One step of a plan, as --dry-run and -o json show it (never a secret). */
export interface FleetStep {
  target: 'dex' | 'vault';
  action: 'create-client' | 'delete-client' | 'replace-client-secret' | 'write-entry' | 'delete-entry';
  detail: string;
}

export function addSteps(plan: AddPlan, vaultPath: string): FleetStep[] {
  const kind = plan.client.public ? 'public' : `confidential, redirect ${plan.client.redirectUris.join(' ')}`;
  return [
    { target: 'dex', action: 'create-client', detail: `create client '${plan.client.id}' (${kind})` },
    { target: 'vault', action: 'write-entry', detail: `write ${vaultPath} with cas=0 (only if absent)` },
  ];
}

export function removeSteps(clientId: string | undefined, vaultPath: string, version: number | undefined): FleetStep[] {
  const steps: FleetStep[] = [];
  if (clientId !== undefined) steps.push({ target: 'dex', action: 'delete-client', detail: `delete client '${clientId}'` });
  if (version !== undefined) steps.push({ target: 'vault', action: 'delete-entry', detail: `delete ${vaultPath} and all its versions (metadata)` });
  return steps;
}

export function rotateSteps(clientId: string, vaultPath: string, version: number): FleetStep[] {
  return [
    { target: 'dex', action: 'replace-client-secret', detail: `replace the secret of client '${clientId}' (Dex's API has no secret update: delete and create it again, same ID and redirect URIs)` },
    { target: 'vault', action: 'write-entry', detail: `write ${vaultPath} with cas=${version} (only if nobody wrote it since)` },
  ];
}
