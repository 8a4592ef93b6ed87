#!/usr/bin/env node
// Benchmark: start-up of the everyday read-only commands with a warm cache, as ratios to
// `node -e 0` measured in the same rounds (issue 16 target: at most 1.5x): `whoami` for an exec
// plugin user whose ID token is in the token cache, `clusters` listing a catalog file, and the
// exec hot path `credential` beside them (target 1.1x). No network: nothing listens on the
// issuer's port. Plain node, after `npm run build`:
//
//   node bench/commands.mjs [--runs N] [--cli FILE]   (default 15 rounds + 3 warm-up; N from 5 to 200;
//   --cli: another build's bin/k8s-auth.js; --compare FILE: that build too, in the same rounds)
//
// Per round, in an order that rotates: `node -e 0`, whoami, clusters, credential. Every run must
// exit 0 with the expected output or the benchmark fails. Prints ONE JSON line on stdout.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, timedNode } from './lib/child-timing.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliArg = process.argv.indexOf('--cli');
// --cli FILE: another build's entry point (default bin/k8s-auth.js), to compare builds
const cli = cliArg > 0 ? process.argv[cliArg + 1] : join(root, 'bin', 'k8s-auth.js');
// --compare FILE: also run another build's entry point (e.g. the last commit's) in the same rounds
const compareArg = process.argv.indexOf('--compare');
const other = compareArg > 0 ? process.argv[compareArg + 1] : undefined;
const runsArg = process.argv.indexOf('--runs');
const RUNS = Math.min(200, Math.max(5, Number(runsArg > 0 ? process.argv[runsArg + 1] : 15) || 15));
const WARMUP = 3;
const TARGETS = { whoami: 1.5, clusters: 1.5, credential: 1.1 };

function fail(message) {
  process.stderr.write(`bench/commands: ${message}\n`);
  process.exit(1);
}
if (!existsSync(join(root, 'dist', 'cli.js'))) fail('dist/ is not built: run `npm run build` first');

const { serializeCachedTokens } = await import(join(root, 'dist', 'core', 'token-cache-entry.js'));
const { cacheFilePath } = await import(join(root, 'dist', 'core', 'token-cache-key.js'));
const { writeFileAtomic } = await import(join(root, 'dist', 'adapters', 'atomic-file.js'));

const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-commands-'));
const cacheDir = join(dir, 'cache');
const key = { issuer: 'https://127.0.0.1:9/dex', clientId: 'k8s-auth', scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'] };
const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const exp = Math.floor(Date.now() / 1000) + 3600;
const token = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({ iss: key.issuer, aud: key.clientId, sub: 'bench', email: 'bench@example.com', groups: ['dev'], exp })}.${'A'.repeat(342)}`;
writeFileAtomic(cacheFilePath(cacheDir, key), serializeCachedTokens({ key, idToken: token, refreshToken: 'r-bench', expiresAt: new Date(exp * 1000).toISOString(), updatedAt: new Date().toISOString() }));

const catalog = join(dir, 'clusters.yaml');
writeFileSync(catalog, `clusters:\n  bench:\n    server: https://127.0.0.1:9\n    issuer-url: ${key.issuer}\n    client-id: ${key.clientId}\n  other:\n    server: https://127.0.0.1:9\n    issuer-url: ${key.issuer}\n    client-id: ${key.clientId}\n`);
const execArgs = ['credential', 'bench', '--issuer', key.issuer, '--client-id', key.clientId, '--scopes', key.scopes.join(' '), '--token-cache-dir', cacheDir, '--catalog', catalog];
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: bench',
    '  cluster:',
    '    server: https://127.0.0.1:9',
    'users:',
    '- name: bench@example.com@bench',
    '  user:',
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1',
    '      command: k8s-auth',
    '      args:',
    ...execArgs.map((a) => `      - ${JSON.stringify(a)}`),
    '      interactiveMode: IfAvailable',
    'contexts:',
    '- name: bench',
    '  context:',
    '    cluster: bench',
    '    user: bench@example.com@bench',
    'current-context: bench',
    '',
  ].join('\n'),
  { mode: 0o600 },
);

const env = {
  PATH: process.env.PATH ?? '',
  HOME: dir,
  KUBECONFIG: kubeconfig,
  ...(process.env.NODE_EXTRA_CA_CERTS ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS } : {}),
  KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: false } }),
};

const commands = {
  node: { args: ['-e', '0'], check: () => undefined },
  whoami: {
    args: [cli, 'whoami', '-o', 'json'],
    check: (out) => {
      if (JSON.parse(out).email !== 'bench@example.com') throw new Error(`whoami printed ${out.trim()}`);
    },
  },
  clusters: {
    args: [cli, 'clusters', '--catalog', catalog],
    check: (out) => {
      if (out !== 'bench\nother\n') throw new Error(`clusters printed ${JSON.stringify(out)}`);
    },
  },
  credential: {
    args: [cli, ...execArgs],
    check: (out) => {
      if (JSON.parse(out).status?.token !== token) throw new Error('credential printed no valid ExecCredential');
    },
  },
};

if (other) for (const name of ['whoami', 'clusters', 'credential']) commands[`${name}@compare`] = { ...commands[name], args: [other, ...commands[name].args.slice(1)] };

async function timed(name) {
  const { args, check } = commands[name];
  const { ms, out } = await timedNode(args, env, 30_000);
  check(out);
  return ms;
}

const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

let exitCode = 0;
try {
  const names = Object.keys(commands);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // rotate the order, so no command always follows the same one
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      const ms = await timed(name);
      if (i >= WARMUP) times[name].push(ms);
    }
  }
  const nodeMedianMs = median(times.node);
  const result = { bench: 'commands', cli, runs: RUNS, nodeMedianMs: round(nodeMedianMs), nodeExtraCaCerts: Boolean(process.env.NODE_EXTRA_CA_CERTS) };
  for (const name of Object.keys(TARGETS)) {
    const ms = median(times[name]);
    result[name] = { medianMs: round(ms), ratio: round(ms / nodeMedianMs, 2), target: TARGETS[name], withinTarget: ms / nodeMedianMs <= TARGETS[name] };
    process.stderr.write(`  ${name.padEnd(10)} ${String(round(ms)).padStart(7)} ms  ${round(ms / nodeMedianMs, 2)}x node (target ${TARGETS[name]}x)\n`);
  }
  if (other) {
    result.compare = { cli: other };
    for (const name of ['whoami', 'clusters', 'credential']) {
      const ms = median(times[`${name}@compare`]);
      result.compare[name] = { medianMs: round(ms), ratio: round(ms / nodeMedianMs, 2) };
      process.stderr.write(`  ${name.padEnd(10)} ${String(round(ms)).padStart(7)} ms  ${round(ms / nodeMedianMs, 2)}x node  (${other})\n`);
    }
  }
  process.stderr.write(`  node -e 0  ${String(round(nodeMedianMs)).padStart(7)} ms (medians of ${RUNS} rotating rounds)\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  process.stderr.write(`bench/commands: FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);
