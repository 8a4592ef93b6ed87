import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import nodeVault from 'node-vault';
import { isLoopbackHost } from '../core/cluster-entry.js';
import { vaultErrorDetail } from '../core/vault-error-detail.js';
import { proxyForUrl, proxyRefusalMessage } from '../core/proxy-env.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { DEFAULT_HTTP_TIMEOUT_MS, TRUST_HINTS, createRequest, formatBytes, type HttpRequest } from './http.js';
import { debug, warn } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';

/**
 * Vault is configured exactly like the vault CLI: VAULT_ADDR, VAULT_TOKEN (else the file
 * ~/.vault-token that `vault login` leaves), VAULT_NAMESPACE, VAULT_CACERT, VAULT_SKIP_VERIFY.
 * Nothing of ours to configure, so an engineer who can `vault kv get` can log in.
 */
export type VaultClient = nodeVault.client;

export interface VaultSettings {
  address: string;
  token: string;
  /** `VAULT_TOKEN` or the token file path, for messages. */
  tokenSource: string;
  namespace?: string;
  caCertPath?: string;
  skipVerify: boolean;
}

export interface VaultClientOptions {
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
}

type Env = Record<string, string | undefined>;

/** Go's strconv.ParseBool, which the vault CLI uses for VAULT_SKIP_VERIFY. */
export function parseVaultBool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new CliError(ExitCode.USAGE, `${name}='${value}' is not a boolean: use true or false`);
}

export function vaultSettingsFromEnv(env: Env = process.env, home: string = homedir()): VaultSettings {
  const address = env['VAULT_ADDR']?.trim();
  if (!address) throw new CliError(ExitCode.USAGE, 'VAULT_ADDR is not set: export the address of your Vault, e.g. VAULT_ADDR=https://vault.example.com:8200');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new CliError(ExitCode.USAGE, `VAULT_ADDR='${address}' is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CliError(ExitCode.USAGE, `VAULT_ADDR='${address}' must be an http(s):// URL`);
  let token = env['VAULT_TOKEN']?.trim();
  let tokenSource = 'VAULT_TOKEN';
  if (!token) {
    tokenSource = join(home, '.vault-token');
    try {
      token = readFileSync(tokenSource, 'utf8').trim();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new CliError(ExitCode.VAULT, `cannot read the Vault token file ${tokenSource}: ${describeError(error)}`);
    }
  }
  if (!token) throw new CliError(ExitCode.VAULT, `no Vault token: run \`vault login\` (it writes ~/.vault-token) or set VAULT_TOKEN`);
  registerSecret(token);
  const settings: VaultSettings = { address: address.replace(/\/+$/, ''), token, tokenSource, skipVerify: parseVaultBool('VAULT_SKIP_VERIFY', env['VAULT_SKIP_VERIFY']) };
  const namespace = env['VAULT_NAMESPACE']?.trim();
  if (namespace) settings.namespace = namespace;
  const caCert = env['VAULT_CACERT']?.trim();
  if (caCert) settings.caCertPath = caCert;
  return settings;
}

/** A node-vault client configured from the environment; throws VAULT/USAGE one-liners. */
export function createVaultClient(env: Env = process.env, options: VaultClientOptions = {}): VaultClient {
  return vaultClientFromSettings(vaultSettingsFromEnv(env), options);
}

export function vaultClientFromSettings(settings: VaultSettings, options: VaultClientOptions = {}): VaultClient {
  let caPem: string | undefined;
  if (settings.caCertPath) {
    try {
      caPem = readFileSync(settings.caCertPath, 'utf8');
    } catch (error) {
      throw new CliError(ExitCode.USAGE, `cannot read VAULT_CACERT ${settings.caCertPath}: ${describeError(error)}`);
    }
  }
  const { protocol, hostname } = new URL(settings.address);
  if (protocol === 'http:' && !isLoopbackHost(hostname)) {
    warn(`Vault at ${settings.address} is plain http (VAULT_ADDR): your Vault token crosses the network unencrypted; use https`);
  }
  debug(`Vault ${settings.address}${settings.namespace ? ` namespace ${settings.namespace}` : ''}, token from ${settings.tokenSource}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  // Vault's CA is added to the system roots, never replacing them (http.ts)
  const request = createRequest({
    ...(caPem !== undefined ? { caPems: [caPem] } : {}),
    insecureSkipTlsVerify: settings.skipVerify,
    insecureWarning: `TLS verification is OFF for Vault at ${settings.address} (VAULT_SKIP_VERIFY); anyone on the path can read your Vault token`,
    timeoutMs,
    maxBodyBytes: MAX_VAULT_BODY_BYTES,
    peer: 'Vault',
    exitCode: ExitCode.VAULT,
    trustHint: TRUST_HINTS.vault,
  });
  const config: nodeVault.VaultOptions = {
    endpoint: settings.address,
    token: settings.token,
    // node-vault's own debug output (DEBUG=node-vault) would print written data: keep it silent
    debug: () => undefined,
    // node-vault's own transport is axios; ours is the one every other peer uses (http.ts): the
    // same proxy handling, one deadline for the whole exchange, a cap on the body, and no axios
    // to load before the browser opens (docs/performance.md)
    'request-promise': { defaults: () => vaultRequestOver(request) },
  } as nodeVault.VaultOptions;
  if (settings.namespace) config.namespace = settings.namespace;
  return nodeVault(config);
}

/**
 * The largest answer read from Vault (docs/security.md): a catalog entry or a listing is a few
 * kB, a minted token a few more.
 */
export const MAX_VAULT_BODY_BYTES = 1024 * 1024;

/** What node-vault hands its request function (`client.request`). */
interface NodeVaultRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

/** What node-vault expects back: any status resolves; it decides what is an error. */
interface NodeVaultResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

/**
 * node-vault's request function over ours. Like node-vault's own, a JSON body is sent as JSON
 * and an answer is parsed as JSON when it is JSON, else kept as text; transport failures are
 * already one line naming Vault (http.ts transportError).
 */
export function vaultRequestOver(request: HttpRequest): (options: NodeVaultRequest) => Promise<NodeVaultResponse> {
  return async (options) => {
    const json = options.json !== undefined && typeof options.json === 'object' ? JSON.stringify(options.json) : undefined;
    if (json !== undefined && Buffer.byteLength(json) > MAX_VAULT_BODY_BYTES) {
      throw new CliError(ExitCode.USAGE, `the data to write to Vault is larger than ${formatBytes(MAX_VAULT_BODY_BYTES)}: write less`);
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const answer = await request(options.uri, { method: options.method, headers, ...(json !== undefined ? { body: json } : {}) });
    return { statusCode: answer.status, body: parseVaultBody(answer.body), request: { path: new URL(options.uri).pathname } };
  };
}

function parseVaultBody(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (text.trim() === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A body Vault itself wrote: JSON with an `errors` list. A proxy's own answer is not. */
function isVaultBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Array.isArray((body as { errors?: unknown }).errors);
}

/** The proxy Vault's requests go through (http.ts): the same variables and NO_PROXY as every other peer. */
function proxyForVault(address: string | undefined): string | undefined {
  if (!address) return undefined;
  try {
    return proxyForUrl(new URL(address), process.env);
  } catch {
    return undefined;
  }
}

interface ResponseLike {
  response?: { statusCode?: number; body?: unknown };
  message?: string;
}

/**
 * One line for any Vault failure: `what` names the operation, e.g. "reading cluster 'prod' at
 * secret/k8s-auth/clusters/prod". Transport failures arrive as one line already (http.ts); here
 * are Vault's answers (node-vault's ApiResponseError carries the status and body).
 */
export function vaultError(error: unknown, what: string, address?: string): CliError {
  if (error instanceof CliError) return error;
  const e = (error ?? {}) as ResponseLike;
  const where = address ? ` at ${address}` : '';
  const status = e.response?.statusCode;
  if (typeof status === 'number') {
    // a forward proxy (plain-http Vault through HTTP_PROXY) answers in Vault's place
    const proxy = proxyForVault(address);
    if (proxy !== undefined && address && (status === 407 || !isVaultBody(e.response?.body))) {
      return new CliError(ExitCode.VAULT, proxyRefusalMessage(status, proxy, 'Vault', address), { cause: error });
    }
    const detail = vaultErrorDetail(e.response?.body);
    if (status === 403) {
      return new CliError(ExitCode.VAULT, `Vault${where} denied ${what} (403 ${detail ?? 'permission denied'}): run \`vault login\` again or ask for read access to this path`, { cause: error });
    }
    if (status === 401) return new CliError(ExitCode.VAULT, `Vault${where} rejected the token for ${what} (401): run \`vault login\` again`, { cause: error });
    if (status === 404) return new CliError(ExitCode.VAULT, `Vault${where} has nothing at ${what} (404): check the mount and prefix (is the mount KV version 2?)`, { cause: error });
    if (status === 503) return new CliError(ExitCode.VAULT, `Vault${where} is sealed or unavailable (503) while ${what}: try again once it is unsealed`, { cause: error });
    if (status === 429) return new CliError(ExitCode.VAULT, `Vault${where} rate-limited ${what} (429): try again shortly`, { cause: error });
    return new CliError(ExitCode.VAULT, `Vault${where} answered ${status} to ${what}${detail ? `: ${detail}` : ''}`, { cause: error });
  }
  return new CliError(ExitCode.VAULT, `Vault${where} failed while ${what}: ${(e.message ?? describeError(error)).split('\n')[0]}`, { cause: error });
}
