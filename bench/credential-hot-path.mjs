#!/usr/bin/env node
// Benchmark: wall time of the exec plugin's cached path, `k8s-auth credential <cluster> …` with a
// fresh token in the cache, as a ratio to `node -e 0` (target: 1.5x or less). kubectl runs the
// plugin on every invocation, so this is the cost every kubectl call pays. Plain node, run after
// `npm run build`:
//
//   npm run build && node bench/credential-hot-path.mjs [--runs N]
//
// Runs are interleaved (node, credential, node, …) so machine noise hits both alike; a few
// warm-up runs fill the page cache first. Every credential run must print a valid
// ExecCredential, or the benchmark fails. Prints one JSON line on stdout.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, timedNode } from './lib/child-timing.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'k8s-auth.js');
const runsArg = process.argv.indexOf('--runs');
const RUNS = Math.min(200, Math.max(5, Number(runsArg > 0 ? process.argv[runsArg + 1] : 30) || 30));
const WARMUP = 3;
const TARGET_RATIO = 1.5;

function fail(message) {
  process.stderr.write(`bench/credential-hot-path: ${message}\n`);
  process.exit(1);
}

if (!existsSync(join(root, 'dist', 'cjs', 'credential', 'hot-path.js'))) fail('dist/ is not built: run `npm run build` first');

const { serializeCachedTokens } = await import(join(root, 'dist', 'core', 'token-cache-entry.js'));
const { cacheFilePath } = await import(join(root, 'dist', 'core', 'token-cache-key.js'));
const { writeFileAtomic } = await import(join(root, 'dist', 'adapters', 'atomic-file.js'));

const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-'));
const cacheDir = join(dir, 'cache');
// nothing listens on port 9: a run that touched the network would fail
const key = { issuer: 'https://127.0.0.1:9/dex', clientId: 'k8s-auth', scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'] };
const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const exp = Math.floor(Date.now() / 1000) + 3600;
const token = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: key.issuer, aud: key.clientId, sub: 'bench', email: 'bench@example.com', exp })}.${'A'.repeat(342)}`;
writeFileAtomic(cacheFilePath(cacheDir, key), serializeCachedTokens({ key, idToken: token, expiresAt: new Date(exp * 1000).toISOString(), updatedAt: new Date().toISOString() }));

const credentialArgs = [cli, 'credential', 'bench', '--issuer', key.issuer, '--client-id', key.clientId, '--scopes', key.scopes.join(' '), '--token-cache-dir', cacheDir, '--catalog', join(dir, 'absent.yaml')];
const env = {
  PATH: process.env.PATH ?? '',
  HOME: dir,
  KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } }),
};

/** Wall time of one child process in ms, its stdout and stderr; rejects on a non-zero exit. */
async function timed(args) {
  const { ms, out, err } = await timedNode(args, env, 30_000);
  return { ms, stdout: out, stderr: err };
}

function check(result) {
  const out = JSON.parse(result.stdout);
  if (out.kind !== 'ExecCredential' || out.status?.token !== token) throw new Error('credential printed no valid ExecCredential');
  if (result.stderr !== '') throw new Error(`credential wrote to stderr: ${result.stderr.trim()}`);
}

const round = (n) => Math.round(n * 10) / 10;

try {
  for (let i = 0; i < WARMUP; i++) {
    await timed(['-e', '0']);
    check(await timed(credentialArgs));
  }
  const node = [];
  const credential = [];
  for (let i = 0; i < RUNS; i++) {
    node.push((await timed(['-e', '0'])).ms);
    const result = await timed(credentialArgs);
    check(result);
    credential.push(result.ms);
  }
  const nodeMedian = median(node);
  const credentialMedian = median(credential);
  const ratio = credentialMedian / nodeMedian;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'credential-hot-path',
      runs: RUNS,
      nodeMedianMs: round(nodeMedian),
      credentialMedianMs: round(credentialMedian),
      ratio: Math.round(ratio * 100) / 100,
      target: TARGET_RATIO,
      withinTarget: ratio <= TARGET_RATIO,
      nodeMinMs: round(Math.min(...node)),
      credentialMinMs: round(Math.min(...credential)),
    })}\n`,
  );
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
