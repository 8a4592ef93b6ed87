// Shared setup for the exec-credential tests: the Dex-shaped test provider, a catalog file
// naming it, a throwaway HOME and token cache, and real tokens minted by the provider.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { BASE_SCOPES } from '../../src/core/cluster-entry.js';
import { EXEC_API_V1 } from '../../src/core/exec-credential.js';
import { jwtExpiryMs, serializeCachedTokens, type CachedConnection } from '../../src/core/token-cache-entry.js';
import { cacheFilePath, type TokenCacheKey } from '../../src/core/token-cache-key.js';
import { writeFileAtomic } from '../../src/adapters/atomic-file.js';
import { startTestProvider, type TestProvider, type TestProviderOptions } from './oidc-provider.js';
import { cleanEnv } from './run-cli.js';
import { fetchTrusting, type TrustingFetch } from './tls-fetch.js';

export const CLUSTER = 'dev';

export interface RealTokens {
  idToken: string;
  refreshToken: string;
}

export interface CredentialFixture {
  op: TestProvider;
  dir: string;
  home: string;
  cacheDir: string;
  catalogFile: string;
  scopes: string[];
  key: TokenCacheKey;
  /** `credential dev --issuer … --client-id … --scopes … --token-cache-dir …` */
  credentialArgs(...extra: string[]): string[];
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
  /** The cache file of the fixture's key; with a login hint, of that person's key (what `login --exec` writes). */
  cacheFile(loginHint?: string): string;
  writeCache(tokens: { idToken: string; refreshToken?: string; connection?: CachedConnection }, loginHint?: string): void;
  /** A real ID token + refresh token for a user, through the provider's password grant. */
  realTokens(email?: string, password?: string): Promise<RealTokens>;
  close(): Promise<void>;
}

export function execInfo(interactive: boolean, apiVersion: string = EXEC_API_V1): string {
  return JSON.stringify({ kind: 'ExecCredential', apiVersion, spec: { interactive } });
}

/** `provider`: a variant of the test provider (reduced scopes, Dex's one refresh token per user); `extraScopes`: the catalog's extra-scopes. */
export async function startCredentialFixture(opts: { idTokenTtlSeconds?: number; provider?: TestProviderOptions; extraScopes?: string[] } = {}): Promise<CredentialFixture> {
  const op = await startTestProvider({ ...opts.provider, ...(opts.idTokenTtlSeconds !== undefined ? { idTokenTtlSeconds: opts.idTokenTtlSeconds } : {}) });
  const dir = await mkdtemp(join(tmpdir(), 'k8s-auth-credential-'));
  const home = join(dir, 'home');
  const cacheDir = join(dir, 'cache');
  const catalogFile = join(dir, 'clusters.yaml');
  const caData = Buffer.from(op.caPem).toString('base64');
  await writeFile(
    catalogFile,
    [
      'clusters:',
      `  ${CLUSTER}:`,
      '    server: https://127.0.0.1:6443',
      `    issuer-url: ${op.issuer}`,
      `    client-id: ${op.clientId}`,
      `    idp-certificate-authority-data: ${caData}`,
      ...(opts.extraScopes?.length ? [`    extra-scopes: ${JSON.stringify(opts.extraScopes.join(' '))}`] : []),
      '',
    ].join('\n'),
  );
  const scopes = [...new Set([...BASE_SCOPES, ...(opts.extraScopes ?? [])])];
  const key: TokenCacheKey = { issuer: op.issuer, clientId: op.clientId, scopes };
  let trusting: TrustingFetch | undefined;
  let config: client.Configuration | undefined;

  return {
    op,
    dir,
    home,
    cacheDir,
    catalogFile,
    scopes,
    key,
    credentialArgs: (...extra) => ['credential', CLUSTER, '--issuer', op.issuer, '--client-id', op.clientId, '--scopes', scopes.join(' '), '--token-cache-dir', cacheDir, ...extra],
    env: (extra = {}) => cleanEnv({ HOME: home, K8S_AUTH_CATALOG: catalogFile, DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: undefined, ...extra }),
    cacheFile: (loginHint) => cacheFilePath(cacheDir, loginHint ? { ...key, loginHint } : key),
    writeCache(tokens, loginHint) {
      const keyed = loginHint ? { ...key, loginHint } : key;
      const expiresAtMs = jwtExpiryMs(tokens.idToken) ?? 0;
      const text = serializeCachedTokens({
        key: keyed,
        idToken: tokens.idToken,
        ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}),
        ...(tokens.connection ? { connection: tokens.connection } : {}),
        expiresAt: new Date(expiresAtMs).toISOString(),
        updatedAt: new Date().toISOString(),
      });
      writeFileAtomic(cacheFilePath(cacheDir, keyed), text);
    },
    async realTokens(email = 'jane@example.com', password = 'jane-password') {
      trusting ??= fetchTrusting(op.caPem);
      config ??= await client.discovery(new URL(op.issuer), op.clientId, undefined, client.None(), { [client.customFetch]: trusting as client.CustomFetch });
      const tokens = await client.genericGrantRequest(config, 'password', { username: email, password, scope: scopes.join(' ') });
      if (!tokens.id_token || !tokens.refresh_token) throw new Error('the test provider gave no ID token or refresh token');
      return { idToken: tokens.id_token, refreshToken: tokens.refresh_token };
    },
    async close() {
      await trusting?.close();
      await op.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function decodeClaims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}
