// Runs the built CLI (dist/, after `npm run build`) as a child process with a controlled
// environment, and collects its exit code and output.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './skip.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export const cliEntry = join(repoRoot, 'bin', 'k8s-auth.js');

/** Env vars of the developer's shell that would change what the CLI does under test. */
const SCRUBBED = /^(K8S_AUTH_|VAULT_|KUBECONFIG$|KUBECACHEDIR$|HTTPS?_PROXY$|https?_proxy$|NO_PROXY$|no_proxy$|NO_COLOR$|FORCE_COLOR$)/;

export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUBBED.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv, options: { timeoutMs?: number; cwd?: string } = {}): Promise<CliRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], { env, cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}
