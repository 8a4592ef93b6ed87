// The child-process timer and median the plain-node benchmarks share (bench/commands.mjs,
// bench/credential-hot-path.mjs, bench/rbac-apply.mjs, bench/rbac-fleet.mjs, bench/token.mjs).
import { spawn } from 'node:child_process';

/** Wall time of one `node ARGS` child in ms, its stdout and stderr; rejects on a non-zero exit or after timeoutMs. */
export function timedNode(args, env, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${args.filter((a) => !a.startsWith('/')).slice(0, 4).join(' ')} exited ${code}: ${err.trim().split('\n').pop()}`));
      else resolve({ ms, out, err });
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
