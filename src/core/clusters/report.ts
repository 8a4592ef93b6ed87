import { clusterOfClientName, type FleetStep } from './plan.js';

/**
 * `k8s-auth clusters list --dex-grpc …`: what the catalog and Dex each hold, and where they
 * disagree. Pure: the use case gathers both sides.
 */

/** A catalog entry as far as the comparison needs it (no secret: only whether one is set). */
export interface CatalogSide {
  cluster: string;
  clientId?: string;
  issuerUrl?: string;
  hasSecret: boolean;
  redirectUri?: string;
  /** the entry could not be read or parsed */
  problem?: string;
}

export interface DexSide {
  id: string;
  name: string;
  public: boolean;
  redirectUris: string[];
  /** whether Dex's secret equals the catalog's, when both were compared */
  secretMatches?: boolean;
}

export type FleetStatus = 'ok' | 'missing-in-dex' | 'missing-in-catalog' | 'other-issuer' | 'differs' | 'unreadable';

export interface FleetRow {
  cluster: string;
  clientId: string;
  status: FleetStatus;
  detail: string;
}

export function compareFleet(catalog: readonly CatalogSide[], dex: readonly DexSide[], dexIssuer: string): FleetRow[] {
  const byId = new Map(dex.map((c) => [c.id, c]));
  const referenced = new Set<string>();
  const rows: FleetRow[] = [];
  for (const entry of catalog) {
    const clientId = entry.clientId ?? '';
    if (entry.problem !== undefined) {
      rows.push({ cluster: entry.cluster, clientId, status: 'unreadable', detail: entry.problem });
      continue;
    }
    referenced.add(clientId);
    if (entry.issuerUrl !== undefined && entry.issuerUrl.replace(/\/+$/, '') !== dexIssuer.replace(/\/+$/, '')) {
      rows.push({ cluster: entry.cluster, clientId, status: 'other-issuer', detail: `issuer ${entry.issuerUrl}, not this Dex (${dexIssuer})` });
      continue;
    }
    const client = byId.get(clientId);
    if (client === undefined) {
      rows.push({ cluster: entry.cluster, clientId, status: 'missing-in-dex', detail: `Dex has no client '${clientId}': sign-in fails; run \`k8s-auth clusters remove ${entry.cluster}\` and add it again` });
      continue;
    }
    const problems: string[] = [];
    if (client.public && entry.hasSecret) problems.push('Dex client is public but the entry has a client-secret');
    if (!client.public && !entry.hasSecret) problems.push('Dex client is confidential but the entry has no client-secret');
    if (client.secretMatches === false) problems.push('the client-secret differs from Dex\'s (run `k8s-auth clusters rotate-secret`)');
    if (entry.redirectUri !== undefined && client.redirectUris.length > 0 && !client.redirectUris.includes(entry.redirectUri)) {
      problems.push(`redirect-uri ${entry.redirectUri} is not registered with Dex (${client.redirectUris.join(', ')})`);
    }
    rows.push(problems.length === 0 ? { cluster: entry.cluster, clientId, status: 'ok', detail: client.public ? 'public client' : 'confidential client' } : { cluster: entry.cluster, clientId, status: 'differs', detail: problems.join('; ') });
  }
  for (const client of dex) {
    const cluster = clusterOfClientName(client.name);
    if (cluster === undefined || referenced.has(client.id)) continue;
    rows.push({ cluster, clientId: client.id, status: 'missing-in-catalog', detail: `Dex client made by \`clusters add\` with no catalog entry: \`k8s-auth clusters remove ${cluster}\` deletes it` });
  }
  return rows.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.clientId.localeCompare(b.clientId));
}

/** What the API server needs to accept this cluster's ID tokens. */
export interface ApiServerConfig {
  /** legacy flags (Kubernetes before 1.30, or without structured authentication) */
  flags: string[];
  /** one `jwt` entry of an AuthenticationConfiguration (apiserver.config.k8s.io/v1, GA in 1.34) */
  jwt: Record<string, unknown>;
}

export function apiServerConfig(issuerUrl: string, clientId: string, idpCaPem: string | undefined, usernameClaim = 'email', groupsClaim = 'groups'): ApiServerConfig {
  const flags = [`--oidc-issuer-url=${issuerUrl}`, `--oidc-client-id=${clientId}`, `--oidc-username-claim=${usernameClaim}`, `--oidc-groups-claim=${groupsClaim}`];
  if (idpCaPem !== undefined) flags.push('--oidc-ca-file=<a file holding the issuer CA, the PEM of the catalog\'s idp-certificate-authority-data>');
  const issuer: Record<string, unknown> = { url: issuerUrl, audiences: [clientId] };
  if (idpCaPem !== undefined) issuer['certificateAuthority'] = idpCaPem;
  return {
    flags,
    jwt: {
      issuer,
      claimMappings: { username: { claim: usernameClaim, prefix: '' }, groups: { claim: groupsClaim, prefix: '' } },
    },
  };
}

/** What `clusters add|remove|rotate-secret` did (or would do, --dry-run): printed by ui/fleet-output.ts. */
export interface FleetResult {
  cluster: string;
  clientId: string;
  dryRun: boolean;
  /** the catalog path, as `vault kv get` takes it */
  entry: string;
  steps: FleetStep[];
  /** the catalog version written (add, rotate-secret) */
  version?: number;
  public?: boolean;
  apiServer?: ApiServerConfig;
}
