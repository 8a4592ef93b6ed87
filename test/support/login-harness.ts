// Helpers for the login tests: a catalog file, the built CLI running `login` in the background
// with --no-browser (the test reads the sign-in URL from stderr and hands it to Chromium).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { stringify } from 'yaml';
import { newPage, signInOnProviderPage, type ProviderCredentials } from './browser.js';
import { repoRoot } from './skip.js';

export const cliEntry = join(repoRoot, 'bin', 'k8s-auth.js');

/** Env vars of the developer's shell that would change what the CLI does under test. */
const SCRUBBED = /^(K8S_AUTH_|VAULT_|KUBECONFIG$|KUBECACHEDIR$|BROWSER$|DISPLAY$|WAYLAND_DISPLAY$|HTTPS?_PROXY$|https?_proxy$|NO_PROXY$|no_proxy$|XDG_CONFIG_HOME$)/;

export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUBBED.test(k)) env[k] = v;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface BackgroundCli {
  /** Resolves with the first authorization URL printed on stderr. */
  url: Promise<string>;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  stderr(): string;
  kill(): void;
}

export function startCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): BackgroundCli {
  const child = spawn(process.execPath, [cliEntry, ...args], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
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
    const match = /(https?:\/\/\S+\/auth\?\S+)/.exec(stderr);
    if (match?.[1]) resolveUrl(match[1]);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      rejectUrl(new Error(`CLI exited (${code}) before printing a URL: ${stderr}`));
      resolve({ code, stdout, stderr });
    });
  });
  return { url, exited, stderr: () => stderr, kill: () => child.kill('SIGKILL') };
}

export interface CatalogClusterFields {
  server: string;
  'issuer-url': string;
  'client-id': string;
  [field: string]: string;
}

export interface TempDir {
  path: string;
  file(name: string): string;
  remove(): void;
}

export function tempDir(prefix = 'k8s-auth-login-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function writeCatalog(path: string, clusters: Record<string, CatalogClusterFields>): string {
  writeFileSync(path, stringify({ clusters }));
  return path;
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Opens the URL, signs in on the provider's form, and returns the text of the page we land on. */
export async function signInWithBrowser(browser: Browser, url: string, creds: ProviderCredentials): Promise<{ text: string; status: number | undefined }> {
  const page = await newPage(browser);
  try {
    let status: number | undefined;
    page.on('response', (response) => {
      if (new URL(response.url()).hostname === '127.0.0.1' && new URL(response.url()).protocol === 'http:') status = response.status();
    });
    await page.goto(url);
    await signInOnProviderPage(page, creds);
    await page.waitForURL((u) => u.protocol === 'http:', { timeout: 20_000 });
    await page.waitForSelector('main h1', { timeout: 20_000 });
    return { text: (await page.textContent('main')) ?? '', status };
  } finally {
    await page.context().close();
  }
}

/** Waits until `path` holds a complete line (written by a recording "browser" or opener). */
export async function waitForFile(path: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(path)) {
      const text = readFileSync(path, 'utf8');
      if (text.endsWith('\n')) return text;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} was not written`);
}
