import type { SecureContext } from 'node:tls';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';
import nodeVault from 'node-vault';
// axios is node-vault's own HTTP client (not a dependency of ours): its types, and at run time
// the very copy node-vault loads
import type { AxiosInstance, AxiosStatic } from 'axios';
import { isLoopbackHost } from '../core/cluster-entry.js';
import { vaultErrorDetail } from '../core/vault-error-detail.js';
import { proxyForUrl, proxyRefusalMessage, proxyUnreachable, proxyUnreachableMessage } from '../core/proxy-env.js';
import { secureContextWithExtraCas } from './tls-context.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { DEFAULT_HTTP_TIMEOUT_MS, TRUST_HINTS, formatBytes, startDeadline } from './http.js';
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
  const requestOptions: nodeVault.VaultOptions['requestOptions'] = {};
  if (settings.caCertPath) {
    let pem: string;
    try {
      pem = readFileSync(settings.caCertPath, 'utf8');
    } catch (error) {
      throw new CliError(ExitCode.USAGE, `cannot read VAULT_CACERT ${settings.caCertPath}: ${describeError(error)}`);
    }
    // added to the system roots, never replacing them; one context for every connection
    (requestOptions as { agentOptions?: { secureContext: SecureContext } }).agentOptions = { secureContext: secureContextWithExtraCas([pem]) };
  }
  const { protocol, hostname } = new URL(settings.address);
  if (protocol === 'http:' && !isLoopbackHost(hostname)) {
    warn(`Vault at ${settings.address} is plain http (VAULT_ADDR): your Vault token crosses the network unencrypted; use https`);
  }
  if (settings.skipVerify) {
    warn(`TLS verification is OFF for Vault at ${settings.address} (VAULT_SKIP_VERIFY); anyone on the path can read your Vault token`);
    requestOptions.strictSSL = false;
  }
  if (protocol === 'https:' && isIP(hostname.replace(/^\[|\]$/g, '')) !== 0 && proxyForVault(settings.address) !== undefined) silenceIpServernameWarning();
  debug(`Vault ${settings.address}${settings.namespace ? ` namespace ${settings.namespace}` : ''}, token from ${settings.tokenSource}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const config: nodeVault.VaultOptions = {
    endpoint: settings.address,
    token: settings.token,
    // node-vault's own debug output (DEBUG=node-vault) would print written data: keep it silent
    debug: () => undefined,
    // node-vault otherwise treats any non-empty VAULT_SKIP_VERIFY (even "false") as "skip"
    rpDefaults: { strictSSL: !settings.skipVerify, timeout: timeoutMs },
    requestOptions,
    // node-vault's own request function bounds neither the body nor the whole exchange (axios's
    // timeout is an idle timeout, which a drip never trips): ours does both
    'request-promise': { defaults: () => boundedVaultRequest(timeoutMs, secureContextOf(requestOptions), settings.skipVerify) },
  } as nodeVault.VaultOptions;
  if (settings.namespace) config.namespace = settings.namespace;
  return nodeVault(config);
}

/**
 * The largest answer read from Vault (docs/security.md): a catalog entry or a listing is a few
 * kB, a minted token a few more.
 */
export const MAX_VAULT_BODY_BYTES = 1024 * 1024;

/** Marks a Vault answer past MAX_VAULT_BODY_BYTES, for vaultError. */
const BODY_TOO_LARGE = 'K8S_AUTH_BODY_TOO_LARGE';

interface NodeVaultRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  json?: unknown;
}

interface NodeVaultResponse {
  statusCode: number;
  body: unknown;
  request: { path: string };
}

function secureContextOf(requestOptions: nodeVault.VaultOptions['requestOptions']): SecureContext | undefined {
  return (requestOptions as { agentOptions?: { secureContext?: SecureContext } } | undefined)?.agentOptions?.secureContext;
}

let vaultAxios: AxiosStatic | undefined;

/**
 * What node-vault's own request function does (any status resolves, JSON bodies, the same TLS
 * agent, axios's HTTPS_PROXY handling), plus a cap on the body (and on what we send) and one
 * deadline for the whole exchange, headers and body.
 */
function boundedVaultRequest(timeoutMs: number, secureContext: SecureContext | undefined, skipVerify: boolean): (options: NodeVaultRequest) => Promise<NodeVaultResponse> {
  vaultAxios ??= createRequire(createRequire(import.meta.url).resolve('node-vault'))('axios') as AxiosStatic;
  const agent = secureContext || skipVerify ? new HttpsAgent({ ...(secureContext ? { secureContext } : {}), ...(skipVerify ? { rejectUnauthorized: false } : {}) }) : undefined;
  const instance: AxiosInstance = vaultAxios.create({
    validateStatus: () => true,
    timeout: timeoutMs,
    maxContentLength: MAX_VAULT_BODY_BYTES,
    maxBodyLength: MAX_VAULT_BODY_BYTES,
    ...(agent ? { httpsAgent: agent } : {}),
  });
  return async (options) => {
    const deadline = startDeadline(timeoutMs);
    try {
      const response = await instance.request({
        method: options.method,
        url: options.uri,
        headers: { ...options.headers },
        ...(options.json && typeof options.json === 'object' ? { data: options.json } : {}),
        signal: deadline.signal,
      });
      return { statusCode: response.status, body: response.data as unknown, request: { path: new URL(options.uri).pathname } };
    } catch (error) {
      if (deadline.expired) throw Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT', cause: error });
      if (/maxContentLength size of .* exceeded/.test((error as Error).message ?? '')) {
        throw Object.assign(new Error(`answered with more than ${formatBytes(MAX_VAULT_BODY_BYTES)}`), { code: BODY_TOO_LARGE, cause: error });
      }
      throw error;
    } finally {
      deadline.clear();
    }
  };
}

let ipServernameWarningSilenced = false;

/**
 * axios (under node-vault) honours HTTPS_PROXY itself, tunnelling with https-proxy-agent, which
 * passes the host as the TLS server name even when it is an IP address; Node then prints a
 * DeprecationWarning (DEP0123) on stderr. The certificate is still checked against that IP:
 * drop that one warning, nothing else.
 */
export function silenceIpServernameWarning(): void {
  if (ipServernameWarningSilenced) return;
  ipServernameWarningSilenced = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const code = typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** A body Vault itself wrote: JSON with an `errors` list. A proxy's own answer is not. */
function isVaultBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && Array.isArray((body as { errors?: unknown }).errors);
}

/** The proxy axios uses for Vault: the same variables; NO_PROXY as for every other peer. */
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
  code?: string;
  message?: string;
}


/**
 * One line for any Vault failure: `what` names the operation, e.g. "reading cluster 'prod' at
 * secret/k8s-auth/clusters/prod". HTTP statuses first, then transport errors (axios codes).
 */
export function vaultError(error: unknown, what: string, address?: string): CliError {
  if (error instanceof CliError) return error;
  const e = (error ?? {}) as ResponseLike;
  const where = address ? ` at ${address}` : '';
  const status = e.response?.statusCode;
  const proxy = proxyForVault(address);
  if (typeof status === 'number') {
    // axios's tunnel hands a proxy's refusal of the CONNECT back as if Vault had answered it
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
  const code = e.code ?? '';
  const unreachable = proxy !== undefined && address ? proxyUnreachable(error, proxy) : undefined;
  if (unreachable !== undefined && proxy !== undefined && address) return new CliError(ExitCode.VAULT, proxyUnreachableMessage(unreachable, proxy, 'Vault', address), { cause: error });
  if (code === 'ECONNREFUSED') return new CliError(ExitCode.VAULT, `Vault${where} refused the connection while ${what}: is VAULT_ADDR right and is Vault running?`, { cause: error });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(ExitCode.VAULT, `cannot resolve the host of Vault${where}: check VAULT_ADDR`, { cause: error });
  if (code === BODY_TOO_LARGE) {
    return new CliError(ExitCode.VAULT, `Vault${where} answered with more than ${formatBytes(MAX_VAULT_BODY_BYTES)} while ${what}: it is not answering as Vault should; check VAULT_ADDR`, { cause: error });
  }
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED') {
    return new CliError(ExitCode.VAULT, `Vault${where} did not answer in time while ${what}: check VAULT_ADDR and your network, or raise --http-timeout`, { cause: error });
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new CliError(ExitCode.VAULT, `TLS certificate of Vault${where} is not trusted (${code}): ${TRUST_HINTS.vault}`, { cause: error });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') return new CliError(ExitCode.VAULT, `Vault${where} dropped the connection while ${what} (${code}): try again`, { cause: error });
  return new CliError(ExitCode.VAULT, `Vault${where} failed while ${what}: ${(e.message ?? describeError(error)).split('\n')[0]}`, { cause: error });
}
