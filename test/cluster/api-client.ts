// Minimal HTTPS calls to the test kube-apiserver (node:https, the control plane's CA only, no
// proxy, no keep-alive so nothing outlives a test). Authenticates with the admin client
// certificate, a bearer token, or nothing.
import { request } from 'node:https';

export interface ApiTarget {
  /** https://127.0.0.1:PORT */
  server: string;
  caPem: string;
}

export type ApiAuth =
  | { kind: 'clientCert'; certPem: string; keyPem: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'anonymous' };

export interface ApiResponse {
  status: number;
  body: string;
  /** parsed JSON body, or undefined when the body is not JSON */
  json: unknown;
}

export interface ApiRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  auth: ApiAuth;
  timeoutMs?: number;
}

export function apiRequest(target: ApiTarget, req: ApiRequest): Promise<ApiResponse> {
  const url = new URL(req.path, target.server);
  const payload = req.body === undefined ? undefined : JSON.stringify(req.body);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (req.auth.kind === 'bearer') headers.authorization = `Bearer ${req.auth.token}`;
  const timeoutMs = req.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const r = request(
      url,
      {
        method: req.method ?? 'GET',
        headers,
        ca: target.caPem,
        agent: false,
        ...(req.auth.kind === 'clientCert' ? { cert: req.auth.certPem, key: req.auth.keyPem } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body, json });
        });
      },
    );
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`${req.method ?? 'GET'} ${url.pathname} timed out after ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(payload);
  });
}

export interface AccessCheck {
  verb: string;
  resource: string;
  namespace?: string;
  group?: string;
}

/**
 * Asks the API server whether the caller may do `check` (SelfSubjectAccessReview). Answers the
 * HTTP status (401 when the credential is not authenticated) and, on 201, `allowed`.
 */
export async function selfSubjectAccessReview(
  target: ApiTarget,
  auth: ApiAuth,
  check: AccessCheck,
): Promise<{ status: number; allowed: boolean | undefined }> {
  const res = await apiRequest(target, {
    method: 'POST',
    path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    auth,
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: check.verb, resource: check.resource, namespace: check.namespace, group: check.group ?? '' } },
    },
  });
  const status = (res.json as { status?: { allowed?: unknown } } | undefined)?.status;
  return { status: res.status, allowed: res.status === 201 && typeof status?.allowed === 'boolean' ? status.allowed : undefined };
}

/** Creates each namespace as the admin; throws naming the first that the API server did not create (201). */
export async function createNamespaces(target: ApiTarget, auth: ApiAuth, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const res = await apiRequest(target, { method: 'POST', path: '/api/v1/namespaces', auth, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
    if (res.status !== 201) throw new Error(`creating namespace ${name}: ${res.status} ${res.body.slice(0, 200)}`);
  }
}
