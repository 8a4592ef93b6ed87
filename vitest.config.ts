import { defineConfig } from 'vitest/config';

// Three tiers: pure unit tests, integration tests against in-process real peers
// (oidc-provider, Chromium, Debian kubectl, doubles), and the cluster tier against a real
// kube-apiserver built from Debian's source. Each tier says plainly when it skips.
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
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
