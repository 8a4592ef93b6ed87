import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../src/cli.js';
import { cleanEnv } from '../support/run-cli.js';
import { kubectlPaths, repoRoot, skipUnless } from '../support/skip.js';

/*
 * k8s-auth as a kubectl plugin: `kubectl k8s-auth …` makes kubectl look for an executable
 * named kubectl-k8s_auth on PATH (dashes become underscores). npm installs the package's
 * `kubectl-k8s_auth` bin entry as a symlink to bin/k8s-auth.js; this test puts the same symlink
 * in a temp dir on PATH and runs the real Debian kubectl binaries from .tools (never the
 * machine's own kubectl).
 */
const kubectls = kubectlPaths().all.filter((k) => k.available);
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-kubectl-plugin-'));
const binDir = join(dir, 'bin');
mkdirSync(binDir);
symlinkSync(join(repoRoot, 'bin', 'k8s-auth.js'), join(binDir, 'kubectl-k8s_auth'));
const catalog = join(dir, 'clusters.yaml');
writeFileSync(
  catalog,
  ['clusters:', ...['prod', 'staging'].map((name) => `  ${name}: { server: 'https://${name}.example.com:6443', issuer-url: 'https://dex.example.com/dex', client-id: k8s-auth }`)].join('\n') + '\n',
);
const env = cleanEnv({
  // node for the plugin's `#!/usr/bin/env node`, the plugin dir, and nothing that could be another kubectl
  PATH: `${binDir}:${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: dir,
  KUBECONFIG: join(dir, 'kubeconfig'),
  NO_COLOR: '1',
});

function kubectl(path: string, args: readonly string[]) {
  const run = spawnSync(path, args, { env, encoding: 'utf8', timeout: 30_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.skipIf(skipUnless(kubectls.length > 0, '.tools/bin/kubectl-* not unpacked (scripts/fetch-kubectl.sh)'))('kubectl plugin', () => {
  for (const k of kubectls) {
    describe(`kubectl ${k.version}`, () => {
      it('finds the plugin on PATH', () => {
        const run = kubectl(k.path, ['plugin', 'list']);
        expect(run.stdout).toContain(join(binDir, 'kubectl-k8s_auth'));
      });

      it('runs `kubectl k8s-auth --version`', () => {
        const run = kubectl(k.path, ['k8s-auth', '--version']);
        expect(run.stderr).toBe('');
        expect([run.code, run.stdout]).toEqual([0, `${VERSION}\n`]);
      });

      it('shows itself as "kubectl k8s-auth" in help', () => {
        const run = kubectl(k.path, ['k8s-auth', '--help']);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/^Usage: kubectl k8s-auth \[options\] \[command\]/);
      });

      it('lists the catalog with `kubectl k8s-auth clusters --catalog FILE`', () => {
        const run = kubectl(k.path, ['k8s-auth', 'clusters', '--catalog', catalog]);
        expect(run.stderr).toBe('');
        expect([run.code, run.stdout]).toEqual([0, 'prod\nstaging\n']);
        const json = kubectl(k.path, ['k8s-auth', 'clusters', '--catalog', catalog, '-o', 'json']);
        expect(JSON.parse(json.stdout)).toEqual({ source: catalog, clusters: ['prod', 'staging'] });
      });

      it("passes the plugin's exit code and one-line error through", () => {
        const run = kubectl(k.path, ['k8s-auth', 'clusters', '--catalog', join(dir, 'missing.yaml')]);
        expect(run.code).toBe(3);
        expect(run.stdout).toBe('');
        expect(run.stderr.trim().split('\n')).toEqual([`error: catalog file ${join(dir, 'missing.yaml')} does not exist`]);
        const usage = kubectl(k.path, ['k8s-auth', 'no-such-command']);
        expect(usage.code).toBe(2);
      });
    });
  }
});
