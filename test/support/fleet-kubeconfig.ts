import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/**
 * A kubeconfig for `rbac apply --all-clusters` tests: several clusters that are one API server
 * (the same `cluster` value under each name), one admin user, and a context per entry of
 * `contexts` (context name → cluster name). Written with mode 0600.
 */
export async function writeFleetKubeconfig(path: string, options: { cluster: unknown; user: unknown; clusters: readonly string[]; contexts: Record<string, string>; current?: string }): Promise<void> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    ...(options.current !== undefined ? { 'current-context': options.current } : {}),
    clusters: options.clusters.map((name) => ({ name, cluster: options.cluster })),
    users: [{ name: 'admin', user: options.user }],
    contexts: Object.entries(options.contexts).map(([name, cluster]) => ({ name, context: { cluster, user: 'admin' } })),
  };
  await writeFile(path, stringify(config), { mode: 0o600 });
}
