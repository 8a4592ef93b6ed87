// The exec hot path: a fresh cached token is answered with node builtins only (no commander,
// openid-client, undici, yaml, Vault or Kubernetes library, no catalog, no network), by the
// CommonJS build in dist/cjs so the ES module loader never starts. Checked statically (the
// require graph of dist/cjs/credential/hot-path.js) and at run time (hooks record every
// CommonJS module compiled and every ES module resolved in the CLI process).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/adapters/atomic-file.js';
import { EXEC_API_V1, EXEC_API_V1BETA1 } from '../../src/core/exec-credential.js';
import { serializeCachedTokens } from '../../src/core/token-cache-entry.js';
import { cacheFilePath, type TokenCacheKey } from '../../src/core/token-cache-key.js';
import { cleanEnv, cliEntry } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const hotPathJs = join(repoRoot, 'dist', 'cjs', 'credential', 'hot-path.js');

/** `require("…")` calls and any dynamic `import(` of a compiled CommonJS file. */
function importsOf(source: string): { specifiers: string[]; dynamic: boolean } {
  const specifiers = [...source.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] as string);
  return { specifiers, dynamic: /\bimport\s*\(/.test(source) };
}

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.c2ln`;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  loaded: string[];
}

describe.skipIf(skipUnless(existsSync(hotPathJs), 'dist/ is not built (run npm run build)'))('exec hot path', () => {
  let dir: string;
  let cacheDir: string;
  let hook: string;
  let requireHook: string;
  // nothing listens here: any network call would fail the run
  const key: TokenCacheKey = { issuer: 'https://127.0.0.1:9/dex', clientId: 'k8s-auth', scopes: ['openid', 'email', 'groups', 'offline_access'] };
  const baseArgs = () => ['credential', 'dev', '--issuer', key.issuer, '--client-id', key.clientId, '--scopes', key.scopes.join(' '), '--token-cache-dir', cacheDir, '--catalog', join(dir, 'no-such-catalog.yaml')];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-hot-path-'));
    cacheDir = join(dir, 'cache');
    // a resolve hook that appends every resolved module URL to the file named by HOOK_LOG
    const hooks = join(dir, 'hooks.mjs');
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.HOOK_LOG, result.url + '\\n');
  return result;
}
`);
    hook = join(dir, 'register.mjs');
    requireHook = join(dir, 'require-hook.cjs');
    await writeFile(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
    // CommonJS modules (the entry and the hot path) never pass the ES resolve hook: log them as
    // they are compiled, and the bundles bin/code-cache.js runs from their code cache as they are read
    await writeFile(requireHook, `const Module = require('node:module');
const fs = require('node:fs');
const { appendFileSync } = fs;
const compile = Module.prototype._compile;
Module.prototype._compile = function (content, filename) {
  appendFileSync(process.env.HOOK_LOG, 'file://' + filename + '\\n');
  return compile.apply(this, arguments);
};
const readFileSync = fs.readFileSync;
fs.readFileSync = function (file, ...rest) {
  if (typeof file === 'string' && file.endsWith('.cjs')) appendFileSync(process.env.HOOK_LOG, 'file://' + file + '\\n');
  return readFileSync.call(this, file, ...rest);
};
`);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function writeToken(expSeconds: number): string {
    const token = unsignedJwt({ iss: key.issuer, aud: key.clientId, sub: 'jane', email: 'jane@example.com', exp: expSeconds });
    writeFileAtomic(cacheFilePath(cacheDir, key), serializeCachedTokens({ key, idToken: token, expiresAt: new Date(expSeconds * 1000).toISOString(), updatedAt: new Date().toISOString() }));
    return token;
  }

  async function run(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
    const log = join(dir, `loaded-${Math.random().toString(16).slice(2)}.txt`);
    await writeFile(log, '');
    const env = cleanEnv({ HOME: join(dir, 'home'), HOOK_LOG: log, ...extraEnv });
    const child = spawn(process.execPath, ['--require', requireHook, '--import', hook, cliEntry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    return { code, stdout, stderr, loaded };
  }

  it('imports only node builtins and builtin-only modules of its own (static import graph)', async () => {
    const seen = new Set<string>();
    const external: string[] = [];
    const visit = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const { specifiers, dynamic } = importsOf(await readFile(file, 'utf8'));
      expect(dynamic, `${file} has a dynamic import`).toBe(false);
      for (const s of specifiers) {
        if (s.startsWith('node:')) continue;
        if (s.startsWith('.')) await visit(resolve(dirname(file), s));
        else external.push(`${relative(repoRoot, file)} -> ${s}`);
      }
    };
    await visit(hotPathJs);
    expect(external).toEqual([]);
    const files = [...seen].map((f) => relative(join(repoRoot, 'dist'), f)).sort();
    expect(files).toEqual(['cjs/core/exec-credential.js', 'cjs/core/jwt-payload.js', 'cjs/core/seconds.js', 'cjs/core/token-cache-entry.js', 'cjs/core/token-cache-freshness.js', 'cjs/core/token-cache-key.js', 'cjs/credential/hot-path.js']);
  });

  it('answers a fresh cached token without loading the CLI, any library, or the catalog', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = writeToken(exp);
    const result = await run(baseArgs(), { KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: EXEC_API_V1, spec: { interactive: false } }) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({
      kind: 'ExecCredential',
      apiVersion: EXEC_API_V1,
      spec: { interactive: false },
      status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace('.000Z', 'Z') },
    });
    const ours = [...new Set(result.loaded)].filter((u) => u.startsWith('file:') && !u.startsWith(`file://${dir}`)).map((u) => relative(repoRoot, new URL(u).pathname)).sort();
    expect(ours).toEqual([
      'bin/k8s-auth.js',
      'dist/cjs/core/exec-credential.js',
      'dist/cjs/core/jwt-payload.js',
      'dist/cjs/core/seconds.js',
      'dist/cjs/core/token-cache-entry.js',
      'dist/cjs/core/token-cache-freshness.js',
      'dist/cjs/core/token-cache-key.js',
      'dist/cjs/credential/hot-path.js',
    ]);
    // the ES module loader never started: nothing was resolved through it
    expect(result.loaded.filter((u) => u.startsWith('file:') && u.endsWith('.mjs') === false && u.includes('/dist/') && !u.includes('/dist/cjs/'))).toEqual([]);
    expect(result.loaded.every((u) => u.startsWith('node:') || u.startsWith('file:'))).toBe(true);
  });

  it('answers v1beta1 when asked, and when kubectl sends no KUBERNETES_EXEC_INFO', async () => {
    writeToken(Math.floor(Date.now() / 1000) + 3600);
    const beta = await run(baseArgs(), { KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: EXEC_API_V1BETA1, spec: { interactive: true } }) });
    expect((JSON.parse(beta.stdout) as { apiVersion: string; spec: unknown }).apiVersion).toBe(EXEC_API_V1BETA1);
    expect((JSON.parse(beta.stdout) as { spec: unknown }).spec).toEqual({ interactive: true });
    const none = await run(baseArgs());
    expect((JSON.parse(none.stdout) as { apiVersion: string }).apiVersion).toBe(EXEC_API_V1BETA1);
  });

  it('falls back to the full CLI for a token inside the skew margin (settable) and for --verbose', async () => {
    writeToken(Math.floor(Date.now() / 1000) + 90);
    // 90 s left: fresh with the default 60 s skew…
    const fresh = await run(baseArgs());
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.loaded.some((u) => u.endsWith('/dist/cli.cjs'))).toBe(false);
    // …stale with --skew 120 or K8S_AUTH_SKEW=2m: the full path runs (no refresh token, no terminal: exit 10)
    const variants: { args: string[]; env: Record<string, string> }[] = [{ args: ['--skew', '120'], env: {} }, { args: [], env: { K8S_AUTH_SKEW: '2m' } }];
    for (const extra of variants) {
      const stale = await run([...baseArgs(), ...extra.args], extra.env);
      expect(stale.loaded.some((u) => u.endsWith('/dist/cli.cjs'))).toBe(true);
      expect(stale.code).toBe(10);
      expect(stale.stdout).toBe('');
      expect(stale.stderr).toContain('expires within the skew margin');
    }
    const verbose = await run([...baseArgs(), '--verbose']);
    expect(verbose.loaded.some((u) => u.endsWith('/dist/cli.cjs'))).toBe(true);
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toContain('using the cached ID token');
  });
});
