import { stringify } from 'yaml';
import type { FleetResult, FleetRow } from '../core/clusters/index.js';
import { printData, renderTable } from './output.js';
import { info } from './log.js';


export function printFleetOutcome(format: 'text' | 'json' | 'yaml', outcome: FleetResult): void {
  if (format !== 'text') {
    printData(format, outcome);
    return;
  }
  for (const step of outcome.steps) info(`${outcome.dryRun ? 'would' : '✓'} ${step.target}: ${step.detail}`);
  if (outcome.dryRun) info('dry run: nothing was changed');
  else if (outcome.version !== undefined) info(`catalog entry ${outcome.entry} is at version ${outcome.version}`);
  if (outcome.apiServer === undefined) return;
  const jwt = stringify({ jwt: [outcome.apiServer.jwt] }).trimEnd();
  process.stdout.write(
    [
      `# API server flags for cluster '${outcome.cluster}' (--oidc-*), or`,
      ...outcome.apiServer.flags,
      '# this jwt entry of its AuthenticationConfiguration (apiserver.config.k8s.io/v1, --authentication-config):',
      jwt,
      '',
    ].join('\n'),
  );
}

export function printFleetRows(format: 'text' | 'json' | 'yaml', listing: { source: string; dex: string; issuer: string; rows: FleetRow[] }): void {
  if (format !== 'text') {
    printData(format, listing);
    return;
  }
  info(`catalog ${listing.source}; Dex ${listing.dex} (issuer ${listing.issuer})`);
  if (listing.rows.length === 0) {
    info('no clusters in the catalog and no client made by `clusters add` in Dex');
    return;
  }
  process.stdout.write(renderTable(['CLUSTER', 'CLIENT', 'STATUS', 'DETAIL'], listing.rows.map((r) => [r.cluster, r.clientId, r.status, r.detail])));
}
