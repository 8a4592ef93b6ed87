import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Four tiers: pure unit tests; integration tests against light real peers (oidc-provider,
// OpenBao, Chromium, Debian kubectl) and the doubles the README lists; the cluster tier against
// kube-apiserver 1.20 built from Debian's source; the peers tier (Dex + slapd, Keycloak,
// kube-apiserver 1.37, kubelogin, tinyproxy). Each says plainly when it skips.
export default defineConfig({
  test: {
    // caches the CLI keeps between runs (the catalog entry index) go to a scratch folder, not
    // the home of whoever runs the tests; the CLIs the tests start inherit it
    env: { XDG_CACHE_HOME: join(tmpdir(), 'k8s-auth-test-cache') },
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Vitest's default on 2 cores is one worker; unit and integration files mostly wait on the
    // processes they start (CLI, Chromium, providers), so two run side by side. The cluster and
    // peers tiers (fileParallelism: false) still run one file at a time, after them.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          // one control plane at a time on a 2-core machine
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'peers',
          include: ['test/peers/**/*.test.ts'],
          // real providers and API servers are heavy on a 2-core machine: one file at a time
          fileParallelism: false,
        },
      },
    ],
  },
});
