// int128/kubelogin (`kubectl oidc-login`), the tool our users migrate from, built from the Go
// module proxy by test/peers/kubelogin/install.sh. It is not a server: `get-token` is a kubectl
// exec credential plugin that signs in through the browser (authorization code + PKCE, its own
// loopback listener) and caches the tokens in --token-cache-dir. Helpers here build its argv the
// way a kubeconfig written for kubelogin does, and run it as kubectl would (KUBERNETES_EXEC_INFO,
// stdout = ExecCredential JSON), in the foreground or in the background for a browser sign-in.
import { spawn } from 'node:child_process';
import { isExecutable, peerCacheDir } from '../process.js';

export const KUBELOGIN_VERSION = 'v1.36.3';
export const KUBELOGIN_INSTALL = 'test/peers/kubelogin/install.sh';
export const kubeloginBinary = peerCacheDir(`kubelogin-${KUBELOGIN_VERSION}`, 'kubelogin');

export function kubeloginAvailable(): boolean {
  return isExecutable(kubeloginBinary);
}

/** The reason for `skipUnless(kubeloginAvailable(), KUBELOGIN_MISSING)`. */
export const KUBELOGIN_MISSING = `kubelogin ${KUBELOGIN_VERSION} is not installed (${kubeloginBinary}): run ${KUBELOGIN_INSTALL}`;

export interface KubeloginProvider {
  issuer: string;
  clientId: string;
  /** the provider's CA file (kubelogin's --certificate-authority) */
  caFile: string;
}

/**
 * The `get-token` arguments of a kubelogin kubeconfig user for this provider (what
 * `kubectl oidc-login setup` tells people to write), without the leading `oidc-login`.
 */
export function kubeloginGetTokenArgs(provider: KubeloginProvider, extraScopes: readonly string[] = []): string[] {
  return [
    'get-token',
    `--oidc-issuer-url=${provider.issuer}`,
    `--oidc-client-id=${provider.clientId}`,
    ...extraScopes.map((s) => `--oidc-extra-scope=${s}`),
    `--certificate-authority=${provider.caFile}`,
  ];
}

/**
 * Flags that put kubelogin's browser sign-in on a port of ours (its default 127.0.0.1:8000 may be
 * taken by a parallel test) with a redirect URI the test provider has registered (kubelogin's
 * default, `http://localhost:<port>`, has no path; the provider's public client allows any
 * loopback port but the path `/callback`). `browserCommand` gets the URL as its only argument.
 */
export function kubeloginBrowserArgs(opts: { port: number; cacheDir: string; browserCommand?: string; timeoutSec?: number }): string[] {
  return [
    `--listen-address=127.0.0.1:${opts.port}`,
    `--oidc-redirect-url=http://127.0.0.1:${opts.port}/callback`,
    `--token-cache-dir=${opts.cacheDir}`,
    `--authentication-timeout-sec=${opts.timeoutSec ?? 60}`,
    ...(opts.browserCommand !== undefined ? [`--browser-command=${opts.browserCommand}`] : ['--skip-open-browser']),
  ];
}

/** KUBERNETES_EXEC_INFO as kubectl sets it for a `client.authentication.k8s.io/v1beta1` plugin. */
export function execInfo(interactive: boolean, apiVersion = 'client.authentication.k8s.io/v1beta1'): string {
  return JSON.stringify({ kind: 'ExecCredential', apiVersion, spec: { interactive } });
}

export interface KubeloginRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** spawn → exit, on the monotonic clock */
  ms: number;
}

export interface BackgroundKubelogin {
  /** the first http(s) URL kubelogin prints on stderr (with --skip-open-browser) */
  url: Promise<string>;
  exited: Promise<KubeloginRun>;
  kill(): void;
}

/** Runs `kubelogin args…` in the background with `env` (use a temp HOME; nothing of the shell's). */
export function startKubelogin(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 90_000): BackgroundKubelogin {
  const started = performance.now();
  const child = spawn(kubeloginBinary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let resolveUrl!: (url: string) => void;
  let rejectUrl!: (error: Error) => void;
  const url = new Promise<string>((resolve, reject) => {
    resolveUrl = resolve;
    rejectUrl = reject;
  });
  url.catch(() => undefined);
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    const match = /(https?:\/\/\S+)/.exec(stderr);
    if (match?.[1]) resolveUrl(match[1]);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<KubeloginRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rejectUrl(new Error(`kubelogin exited (${String(code)}) before printing a URL: ${stderr.trim()}`));
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
  return { url, exited, kill: () => child.kill('SIGKILL') };
}

export function runKubelogin(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<KubeloginRun> {
  return startKubelogin(args, env, timeoutMs).exited;
}

/** The token of kubelogin's ExecCredential output; throws with its stderr when there is none. */
export function execCredentialToken(run: KubeloginRun): string {
  if (run.code !== 0) throw new Error(`kubelogin exited ${String(run.code)}: ${run.stderr.trim()}`);
  const out = JSON.parse(run.stdout) as { kind?: string; status?: { token?: string } };
  if (out.kind !== 'ExecCredential' || typeof out.status?.token !== 'string') throw new Error(`kubelogin printed no ExecCredential: ${run.stdout.slice(0, 200)}`);
  return out.status.token;
}
