// What a command that starts no process loads (issue 16, docs/performance.md): commander comes
// from dist/cli.cjs (bundled, in its code cache), never from node_modules, and its
// node:child_process require waits for first use (scripts/bundle-cli.mjs), so `version`, help and
// `whoami` never load child_process. A preload records, as the process exits, node's list of
// loaded builtins and the CommonJS modules in require's cache.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-start-up-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const preload = join(dir, 'record-modules.cjs');
writeFileSync(
  preload,
  `process.on('exit', () => {
  require('node:fs').writeFileSync(process.env.MODULES_LOG, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) }));
});
`,
);

async function modulesOf(args: string[]): Promise<{ code: number | null; builtins: string[]; files: string[] }> {
  const log = join(dir, `modules-${args.join('-').replace(/\W+/g, '_')}.json`);
  const run = await runCli(args, cleanEnv({ HOME: join(dir, 'home'), KUBECONFIG: join(dir, 'no-kubeconfig'), MODULES_LOG: log, NODE_OPTIONS: `--require ${preload}` }));
  const recorded = JSON.parse(readFileSync(log, 'utf8')) as { builtins: string[]; files: string[] };
  return { code: run.code, ...recorded };
}

describe.skipIf(skipUnless(existsSync(join(repoRoot, 'dist', 'cli.cjs')), 'dist/ is not built (run npm run build)'))('start-up modules', () => {
  for (const args of [['version'], ['--help'], ['whoami']]) {
    it(`k8s-auth ${args.join(' ')}: commander from the bundle, no node:child_process`, async () => {
      const run = await modulesOf(args);
      // the preload itself worked: the bundle was loaded and recorded
      expect(run.files.some((f) => f.endsWith(join('dist', 'cli.cjs')))).toBe(true);
      expect(run.files.filter((f) => f.includes(join('node_modules', 'commander')))).toEqual([]);
      expect(run.builtins).not.toContain('NativeModule child_process');
    });
  }
});
