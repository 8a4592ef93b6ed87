// What the benchmarks against a local kube-apiserver (bench/rbac-apply.mjs, bench/rbac-fleet.mjs)
// need before they start: the built CLI, the control plane binaries, and the cluster test
// harness (TypeScript, loaded with tsx's scoped tsImport, so nothing else is transpiled).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

/** Exits with one line (`bench/NAME: …`) when dist/ or the control plane is missing. */
export async function loadControlPlaneBench(name, root) {
  const fail = (message) => {
    process.stderr.write(`bench/${name}: ${message}\n`);
    process.exit(1);
  };
  if (!existsSync(join(root, 'dist', 'cli.js'))) fail('dist/ is not built: run `npm run build` first');
  const { controlPlaneBinaries } = await tsImport('../../test/cluster/processes.ts', import.meta.url);
  const bins = controlPlaneBinaries();
  if (!bins.ok) fail(`${bins.missing}`);
  const [{ startClusterFixture }, { createNamespaces }] = await Promise.all([
    tsImport('../../test/cluster/fixture.ts', import.meta.url),
    tsImport('../../test/cluster/api-client.ts', import.meta.url),
  ]);
  return { startClusterFixture, createNamespaces };
}

/**
 * A new user for an rbac benchmark: GROUPS groups, the last `namespacedCount` bound to `view` in
 * one namespace each (from `namespaces`), the others ClusterRoles of their own; writes the
 * mapping and an ID token from the test provider into `dir`.
 */
export async function writeBenchUser({ dir, provider, label, groups: count, namespaces, namespacedCount }) {
  const groups = Array.from({ length: count }, (_, i) => `${label}-group-${String(i).padStart(3, '0')}`);
  const mapping = [
    'serviceAccountNamespace: default',
    'groups:',
    ...groups.flatMap((g, i) =>
      i < count - namespacedCount
        ? [`  ${g}:`, '    rules:', '      - apiGroups: [""]', '        resources: ["configmaps"]', `        resourceNames: ["${g}"]`, '        verbs: ["get"]']
        : [`  ${g}:`, '    clusterRole: view', `    namespaces: [${namespaces[i - (count - namespacedCount)]}]`],
    ),
  ].join('\n');
  const mappingFile = join(dir, `mapping-${label}.yaml`);
  writeFileSync(mappingFile, `${mapping}\n`);
  const tokenFile = join(dir, `token-${label}`);
  writeFileSync(tokenFile, await provider.mintIdToken({ email: `${label}@example.com`, sub: `sub-${label}`, emailVerified: true, groups }), { mode: 0o600 });
  return { mappingFile, tokenFile };
}
