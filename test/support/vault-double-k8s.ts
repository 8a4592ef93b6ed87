// Kubernetes secrets engine of the Vault double: POST <mount>/creds/<role> as documented
// (kubernetes_namespace, ttl, audiences, cluster_role_binding) with the plugin's own error
// texts (HTTP 400, from logical.ErrorResponse) and its TTL warnings.
import { randomBytes } from 'node:crypto';
import type { VaultReply } from './vault-double-kv.js';

export interface K8sCredsRequest {
  mount: string;
  role: string;
  /** kubernetes_namespace */
  namespace: string;
  /** the TTL Vault settled on (request ttl, else role default, else 768h), capped by the role max */
  ttlSeconds: number;
  audiences: string[];
  clusterRoleBinding: boolean;
}

export interface K8sMinted {
  token: string;
  ttlSeconds: number;
  serviceAccountName: string;
  namespace: string;
}

export interface K8sRoleOptions {
  /** allowed_kubernetes_namespaces; default ['*'] */
  allowedNamespaces?: string[];
  /** kubernetes_role_type; default 'Role' (as in Vault), which refuses cluster_role_binding */
  roleType?: 'Role' | 'ClusterRole';
  tokenDefaultTtlSeconds?: number;
  tokenMaxTtlSeconds?: number;
  /**
   * 'cap' (default, as the plugin does): a ttl above token_max_ttl is capped with a warning.
   * 'refuse': answered 400 instead, as a Vault in front of a stricter engine or policy would.
   */
  ttlAboveMax?: 'cap' | 'refuse';
  mint?: (req: K8sCredsRequest) => Promise<K8sMinted>;
}

export interface K8sMount {
  type: 'kubernetes';
  accessor: string;
  uuid: string;
  roles: Map<string, K8sRoleOptions>;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function base62(length: number): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; out.length < length && i < bytes.length; i += 1) {
    const b = bytes[i] as number;
    if (b < 248) out += BASE62[b % 62];
  }
  return out.padEnd(length, 'A');
}

/** Go's time.Duration String() for whole seconds: 1h0m0s, 10m0s, 30s. */
export function goDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Vault's TypeDurationSecond: an integer number of seconds or a Go duration string. */
export function parseDurationSeconds(raw: unknown): number | Error {
  if (typeof raw === 'number' && Number.isFinite(raw)) return Math.floor(raw);
  if (typeof raw !== 'string') return new Error(`cannot parse ${JSON.stringify(raw)} as a duration`);
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length) return new Error(`time: invalid duration "${text}"`);
  return Math.floor(total);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Default mint: an UNSIGNED JWT-shaped placeholder that says where it came from. */
export async function placeholderMint(req: K8sCredsRequest): Promise<K8sMinted> {
  const iat = Math.floor(Date.now() / 1000);
  const serviceAccountName = `v-token-${req.role.slice(0, 8)}-${iat}-${base62(24).toLowerCase()}`.slice(0, 63);
  const token = [
    b64url({ alg: 'none', typ: 'JWT' }),
    b64url({
      iss: 'k8s-auth test vault-double',
      sub: `system:serviceaccount:${req.namespace}:${serviceAccountName}`,
      aud: req.audiences,
      iat,
      exp: iat + req.ttlSeconds,
      'k8s-auth.test/placeholder': 'unsigned token from test/support/vault-double.ts; no cluster accepts it',
    }),
    '',
  ].join('.');
  return { token, ttlSeconds: req.ttlSeconds, serviceAccountName, namespace: req.namespace };
}

export const SYSTEM_MAX_LEASE_TTL_SECONDS = 768 * 3600;

export async function handleK8sCreds(
  mount: K8sMount,
  mountPath: string,
  rest: string,
  method: string,
  body: Record<string, unknown> | undefined,
): Promise<VaultReply> {
  const m = /^creds\/([^/]+)$/.exec(rest.replace(/^\/+|\/+$/g, ''));
  if (!m) return { status: 404, errors: [`no handler for route "${mountPath}/${rest}". route entry not found.`] };
  if (method !== 'POST' && method !== 'PUT') return { status: 405, errors: ['1 error occurred:\n\t* unsupported operation\n\n'] };
  const roleName = (m[1] as string).toLowerCase(); // the plugin's name field is TypeLowerCaseString
  const role = mount.roles.get(roleName);
  if (!role) return { status: 400, errors: [`role '${roleName}' does not exist`] };
  const namespace = body?.kubernetes_namespace;
  if (typeof namespace !== 'string' || namespace === '') return { status: 400, errors: ["'kubernetes_namespace' is required"] };
  let requestedTtl = 0;
  if (body?.ttl !== undefined && body.ttl !== '') {
    const parsed = parseDurationSeconds(body.ttl);
    if (parsed instanceof Error) return { status: 400, errors: [`error converting input ${String(body.ttl)} for field "ttl": ${parsed.message}`] };
    requestedTtl = parsed;
  }
  const audiences = Array.isArray(body?.audiences)
    ? (body.audiences as unknown[]).map(String)
    : typeof body?.audiences === 'string' && body.audiences !== ''
      ? body.audiences.split(',').map((a) => a.trim()).filter(Boolean)
      : [];
  const clusterRoleBinding = body?.cluster_role_binding === true || body?.cluster_role_binding === 'true';
  const allowed = role.allowedNamespaces ?? ['*'];
  if (!allowed.includes('*') && !allowed.includes(namespace)) {
    return {
      status: 400,
      errors: [
        `kubernetes_namespace '${namespace}' is not present in role's allowed_kubernetes_namespaces or does not match role's label selector allowed_kubernetes_namespace_selector`,
      ],
    };
  }
  if (clusterRoleBinding && (role.roleType ?? 'Role') === 'Role') return { status: 400, errors: ['a ClusterRoleBinding cannot ref a Role'] };

  const warnings: string[] = [];
  let ttl = requestedTtl > 0 ? requestedTtl : (role.tokenDefaultTtlSeconds ?? 0) > 0 ? (role.tokenDefaultTtlSeconds as number) : SYSTEM_MAX_LEASE_TTL_SECONDS;
  const max = role.tokenMaxTtlSeconds ?? 0;
  if (max > 0 && ttl > max && role.ttlAboveMax === 'refuse') {
    return { status: 400, errors: [`ttl of ${goDuration(ttl)} is greater than the role's token_max_ttl of ${goDuration(max)}`] };
  }
  if (max > 0 && ttl > max) {
    warnings.push(`ttl of ${goDuration(ttl)} is greater than the role's token_max_ttl of ${goDuration(max)}; capping accordingly`);
    ttl = max;
  }
  if (ttl > SYSTEM_MAX_LEASE_TTL_SECONDS) {
    warnings.push(`ttl of ${goDuration(ttl)} is greater than Vault's max lease ttl ${goDuration(SYSTEM_MAX_LEASE_TTL_SECONDS)}; capping accordingly`);
    ttl = SYSTEM_MAX_LEASE_TTL_SECONDS;
  }
  const minted = await (role.mint ?? placeholderMint)({ mount: mountPath, role: roleName, namespace, ttlSeconds: ttl, audiences, clusterRoleBinding });
  let leaseDuration = ttl;
  if (minted.ttlSeconds > ttl) {
    warnings.push(`the created Kubernetes service accout token TTL ${goDuration(minted.ttlSeconds)} is greater than the Vault lease TTL ${goDuration(ttl)}`);
  } else if (minted.ttlSeconds < ttl) {
    warnings.push(`the created Kubernetes service accout token TTL ${goDuration(minted.ttlSeconds)} is less than the Vault lease TTL ${goDuration(ttl)}; capping the lease TTL accordingly`);
    leaseDuration = minted.ttlSeconds;
  }
  return {
    status: 200,
    envelope: {
      lease_id: `${mountPath}/creds/${roleName}/${base62(24)}`,
      lease_duration: leaseDuration,
      renewable: false,
      data: {
        service_account_name: minted.serviceAccountName,
        service_account_namespace: minted.namespace,
        service_account_token: minted.token,
      },
      warnings: warnings.length > 0 ? warnings : null,
    },
  };
}
