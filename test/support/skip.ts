// Plain, visible skips: a suite that cannot run here says so in ONE line on stderr.
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Returns true when the suite must be skipped (use as `describe.skipIf(skipUnless(...))`),
 * printing `SKIPPED <suite>: <reason>` once to stderr in that case.
 */
export function skipUnless(condition: boolean, reason: string, suite?: string): boolean {
  if (condition) return false;
  const name = suite ?? callerSuiteName();
  // .ci/run sets K8S_AUTH_REQUIRE_ALL=1: there a missing peer must fail the run, not hide
  if (process.env['K8S_AUTH_REQUIRE_ALL'] === '1') {
    process.stderr.write(`REQUIRED ${name}: ${reason} (K8S_AUTH_REQUIRE_ALL=1, so it runs and fails)\n`);
    return false;
  }
  process.stderr.write(`SKIPPED ${name}: ${reason}\n`);
  return true;
}

function callerSuiteName(): string {
  const stack = new Error().stack?.split('\n') ?? [];
  for (const line of stack.slice(1)) {
    const m = /(?:file:\/\/)?(\/[^\s:()]+\.test\.[cm]?[jt]s)/.exec(line);
    if (m?.[1]) return m[1].startsWith(repoRoot) ? m[1].slice(repoRoot.length + 1) : m[1];
  }
  return 'suite';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface KubectlBinary {
  version: '1.20' | '1.32' | '1.20-source';
  path: string;
  /** the file exists and is executable */
  available: boolean;
}

/** Debian kubectl binaries unpacked by scripts/fetch-kubectl.sh (never the machine's own kubectl). */
export function kubectlPaths(): { v1_20: KubectlBinary; v1_32: KubectlBinary; all: KubectlBinary[] } {
  const make = (version: '1.20' | '1.32'): KubectlBinary => {
    const path = join(repoRoot, '.tools', 'bin', `kubectl-${version}`);
    return { version, path, available: isExecutable(path) };
  };
  const v1_20 = make('1.20');
  const v1_32 = make('1.32');
  return { v1_20, v1_32, all: [v1_20, v1_32] };
}

/**
 * kubectl 1.20.2 built from the same Debian source package as the control plane, but with the
 * reflect2 fix (test/cluster/build-control-plane.sh): Debian's packaged 1.20 crashes when it
 * writes refreshed OIDC tokens back, so the write-back is also proven on this build.
 */
export function sourceBuiltKubectl120(): KubectlBinary {
  const cache = process.env['K8S_AUTH_TEST_CACHE'] ?? join(homedir(), '.cache', 'k8s-auth-test');
  const path = join(cache, 'v1.20.2', 'bin', 'kubectl');
  return { version: '1.20-source', path, available: isExecutable(path) };
}
