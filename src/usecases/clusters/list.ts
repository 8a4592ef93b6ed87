import type { DexApi } from '../../adapters/dex-grpc.js';
import type { CatalogWriter } from '../../adapters/vault-catalog-write.js';
import { parseClusterEntry } from '../../core/cluster-entry.js';
import { type CatalogSide, type DexSide, type FleetRow, compareFleet } from '../../core/clusters/report.js';
import { describeError } from '../../errors.js';

/** `clusters list --dex-grpc …`: both sides, read once each, compared in core/clusters/report.ts. */
export interface FleetListing {
  source: string;
  dex: string;
  issuer: string;
  rows: FleetRow[];
}

export async function listFleet(dex: DexApi, catalog: CatalogWriter): Promise<FleetListing> {
  const [names, clients, issuer] = await Promise.all([catalog.list(), dex.listClients(), dex.issuer()]);
  const secrets = new Map<string, string | undefined>();
  const sides: CatalogSide[] = [];
  for (const cluster of names) {
    try {
      const raw = await catalog.read(cluster);
      if (raw?.data === undefined) {
        sides.push({ cluster, hasSecret: false, problem: 'its latest version is deleted' });
        continue;
      }
      const entry = parseClusterEntry(cluster, raw.data, catalog.secretPath(cluster));
      sides.push({ cluster, clientId: entry.clientId, issuerUrl: entry.issuerUrl, hasSecret: entry.clientSecret !== undefined, ...(entry.redirectUri ? { redirectUri: entry.redirectUri } : {}) });
      secrets.set(entry.clientId, entry.clientSecret);
    } catch (error) {
      sides.push({ cluster, hasSecret: false, problem: describeError(error) });
    }
  }
  const dexSides: DexSide[] = [];
  for (const client of clients) {
    const side: DexSide = { id: client.id, name: client.name, public: client.public, redirectUris: client.redirectUris };
    const catalogSecret = secrets.get(client.id);
    if (catalogSecret !== undefined && !client.public) {
      // ListClients carries no secret: ask for this one client, compare, keep neither
      const full = await dex.getClient(client.id);
      if (full !== undefined) side.secretMatches = full.secret === catalogSecret;
    }
    dexSides.push(side);
  }
  return { source: catalog.describe(), dex: dex.address, issuer, rows: compareFleet(sides, dexSides, issuer) };
}
