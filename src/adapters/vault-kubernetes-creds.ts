import { rfc3339 } from '../core/exec-credential.js';
import { jwtTimes } from '../core/token-output.js';
import { vaultErrorDetail } from '../core/vault-error-detail.js';
import { CliError, ExitCode } from '../errors.js';
import { debug } from '../ui/log.js';
import { registerSecret } from '../ui/redact.js';
import { createVaultClient, vaultError, vaultSettingsFromEnv } from './vault-client.js';

/**
 * Vault's Kubernetes secrets engine: POST /v1/<mount>/creds/<role> with kubernetes_namespace,
 * ttl and audiences; Vault mints the ServiceAccount token with its own cluster credentials and
 * answers a lease, so the token can be revoked early with `vault lease revoke`.
 */
export interface VaultKubernetesCredsInput {
  mount: string;
  role: string;
  namespace: string;
  ttlSeconds: number;
  audiences: readonly string[];
}

export interface VaultKubernetesCreds {
  token: string;
  serviceAccount: string;
  namespace: string;
  leaseId: string;
  leaseDurationSeconds: number;
  /** RFC 3339: the token's own exp when it has one, else now + lease_duration. */
  expirationTimestamp: string;
  /** Vault's own warnings (e.g. the TTL capped to the role's token_max_ttl). */
  warnings: string[];
}

export interface VaultCredsOptions {
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  now?: () => Date;
}

export function credsPath(mount: string, role: string): string {
  return `${mount.replace(/^\/+|\/+$/g, '')}/creds/${encodeURIComponent(role)}`;
}

export function credsRequestBody(input: VaultKubernetesCredsInput): Record<string, unknown> {
  const body: Record<string, unknown> = { kubernetes_namespace: input.namespace, ttl: `${input.ttlSeconds}s` };
  if (input.audiences.length > 0) body['audiences'] = input.audiences.join(',');
  return body;
}

export async function requestVaultKubernetesCreds(input: VaultKubernetesCredsInput, options: VaultCredsOptions = {}): Promise<VaultKubernetesCreds> {
  const env = options.env ?? process.env;
  const settings = vaultSettingsFromEnv(env);
  const client = createVaultClient(env, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
  const path = credsPath(input.mount, input.role);
  debug(`Vault: POST /v1/${path} (namespace ${input.namespace}, ttl ${input.ttlSeconds}s)`);
  let answer: unknown;
  try {
    answer = await client.write(path, credsRequestBody(input));
  } catch (error) {
    throw credsError(error, input, settings.address);
  }
  return parseCredsAnswer(answer, input, (options.now ?? (() => new Date()))());
}

export function parseCredsAnswer(answer: unknown, input: VaultKubernetesCredsInput, now: Date): VaultKubernetesCreds {
  const body = (answer ?? {}) as { lease_id?: unknown; lease_duration?: unknown; data?: Record<string, unknown>; warnings?: unknown };
  const data = body.data ?? {};
  const token = data['service_account_token'];
  if (typeof token !== 'string' || token === '') {
    throw new CliError(ExitCode.VAULT, `Vault answered ${credsPath(input.mount, input.role)} without a service_account_token: is '${input.mount}' a Kubernetes secrets engine mount? (pass --vault-k8s-mount)`);
  }
  registerSecret(token);
  const leaseDurationSeconds = typeof body.lease_duration === 'number' ? body.lease_duration : input.ttlSeconds;
  const exp = jwtTimes(token).exp;
  const expires = exp !== undefined ? new Date(exp * 1000) : new Date(now.getTime() + leaseDurationSeconds * 1000);
  return {
    token,
    serviceAccount: typeof data['service_account_name'] === 'string' ? data['service_account_name'] : '',
    namespace: typeof data['service_account_namespace'] === 'string' ? data['service_account_namespace'] : input.namespace,
    leaseId: typeof body.lease_id === 'string' ? body.lease_id : '',
    leaseDurationSeconds,
    expirationTimestamp: rfc3339(expires),
    warnings: Array.isArray(body.warnings) ? body.warnings.filter((w): w is string => typeof w === 'string').map((w) => w.split('\n')[0] ?? w) : [],
  };
}

function vaultDetail(error: unknown): { status: number | undefined; detail: string } {
  const response = (error as { response?: { statusCode?: unknown; body?: unknown } } | undefined)?.response;
  const status = typeof response?.statusCode === 'number' ? response.statusCode : undefined;
  return { status, detail: vaultErrorDetail(response?.body) ?? '' };
}

/** The engine's failures in this command's words; the rest as every Vault call says them. */
export function credsError(error: unknown, input: VaultKubernetesCredsInput, address: string): CliError {
  if (error instanceof CliError) return error;
  const { status, detail } = vaultDetail(error);
  const mount = input.mount.replace(/^\/+|\/+$/g, '');
  if ((status === 400 || status === 404) && /role/i.test(detail) && /(not exist|not found|unknown|no role)/i.test(detail)) {
    return new CliError(ExitCode.VAULT, `Vault role '${input.role}' does not exist in the Kubernetes secrets engine at ${mount}/ (${detail}): check --via-vault, or ask a Vault admin to create ${mount}/roles/${input.role}`, { cause: error });
  }
  if (status === 404 || (status === 400 && /no handler for route|unsupported path/i.test(detail))) {
    return new CliError(ExitCode.VAULT, `Vault at ${address} has no Kubernetes secrets engine at ${mount}/ (${status}${detail ? `: ${detail}` : ''}): pass --vault-k8s-mount with the engine's path`, { cause: error });
  }
  if (status === 403) {
    return new CliError(ExitCode.VAULT, `Vault at ${address} denied minting a token for role '${input.role}' (403 ${detail || 'permission denied'}): your Vault token needs 'update' on ${mount}/creds/${input.role}; run \`vault login\` again or ask a Vault admin`, { cause: error });
  }
  if (status === 400 || status === 500) {
    // the namespace hint only for the engine's own namespace check, not for any message that
    // happens to hold a namespace (e.g. the URL of a TokenRequest that failed on the cluster)
    const ttlHint = /ttl/i.test(detail) ? ': ask for a shorter --ttl' : /allowed_kubernetes_namespace/i.test(detail) ? ': pass a --namespace the role allows' : '';
    return new CliError(ExitCode.VAULT, `Vault refused to mint a token for role '${input.role}' in namespace ${input.namespace} (${status}${detail ? `: ${detail}` : ''})${ttlHint}`, { cause: error });
  }
  return vaultError(error, `minting a token for role '${input.role}' at ${mount}/creds/${input.role}`, address);
}
