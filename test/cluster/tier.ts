// When the cluster tier skips: a missing peer prints one plain line and skips the suite, except
// under K8S_AUTH_REQUIRE_ALL=1 (.ci/run), where the suite runs and fails on the missing peer.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { controlPlaneBinaries } from './processes.js';

const requireAll = process.env.K8S_AUTH_REQUIRE_ALL === '1';
const repoRoot = join(import.meta.dirname, '..', '..');

/** True when the suite must skip because the control plane binaries are missing. */
export function clusterTierSkip(): boolean {
  const bins = controlPlaneBinaries();
  if (bins.ok || requireAll) return false;
  process.stderr.write(`cluster tier SKIPPED: ${bins.missing}\n`);
  return true;
}

export interface KubectlUnderTest {
  version: '1.20' | '1.32';
  path: string;
}

/** Debian kubectl binaries unpacked by scripts/fetch-kubectl.sh (never the machine's own kubectl). */
export const KUBECTLS: readonly KubectlUnderTest[] = (['1.20', '1.32'] as const).map((version) => ({
  version,
  path: join(repoRoot, '.tools', 'bin', `kubectl-${version}`),
}));

/** True when a kubectl test must skip because .tools is not populated. */
export function kubectlSkip(): boolean {
  const missing = KUBECTLS.filter((k) => !existsSync(k.path));
  if (missing.length === 0 || requireAll) return false;
  process.stderr.write(`cluster tier: kubectl test SKIPPED: ${missing.map((k) => k.path).join(', ')} not found; run scripts/fetch-kubectl.sh\n`);
  return true;
}
