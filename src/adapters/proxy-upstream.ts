import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { decodeJwtClaims, groupsFrom } from '../core/id-token-claims.js';
import type { Identity } from '../core/proxy-request.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import type { UpstreamConnection } from './proxy-server.js';

/**
 * Before serving: one SelfSubjectReview (authentication.k8s.io/v1, Kubernetes 1.28+) through
 * the upstream connection with the proxy's credential, so an unreachable API server, an
 * untrusted certificate or a refused credential is one line and an exit code at start, not a
 * 502 per request, and the audit log can name the user the API server sees. An API server
 * without the API (404) or one that forbids it: the identity comes from the token's claims.
 */
export async function probeUpstream(upstream: UpstreamConnection, token: string | undefined, context: string, timeoutMs = 30_000): Promise<Identity | undefined> {
  const url = new URL(`${upstream.server.replace(/\/+$/, '')}/apis/authentication.k8s.io/v1/selfsubjectreviews`);
  const body = JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  const secure = url.protocol === 'https:';
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const options = {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      agent: false as const,
      ...(secure
        ? {
            ...(upstream.caPem ? { ca: upstream.caPem } : {}),
            ...(upstream.clientCertificate ? { cert: upstream.clientCertificate.certPem, key: upstream.clientCertificate.keyPem } : {}),
            ...(upstream.tlsServerName ? { servername: upstream.tlsServerName } : {}),
            rejectUnauthorized: !upstream.insecureSkipTlsVerify,
          }
        : {}),
    };
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (text.length < 1024 * 1024) text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    req.on('error', reject);
    req.end(body);
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const trust = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) ? ": the API server's certificate is not trusted (check the cluster's certificate-authority-data in the kubeconfig)" : ": check the kubeconfig's server address and that the API server is up";
    throw new CliError(ExitCode.KUBERNETES, `cannot reach the API server of context '${context}' at ${upstream.server}: ${describeError(error)}${trust}`);
  });
  if (answer.status === 401) {
    throw new CliError(ExitCode.KUBERNETES, `the API server of context '${context}' at ${upstream.server} refuses its credentials (401 Unauthorized): sign in again (\`k8s-auth login\`) or fix the kubeconfig user`);
  }
  if (answer.status === 201 || answer.status === 200) {
    try {
      const info = (JSON.parse(answer.text) as { status?: { userInfo?: { username?: unknown; groups?: unknown } } }).status?.userInfo;
      if (typeof info?.username === 'string') return { user: info.username, groups: groupsFrom(info.groups) };
    } catch {
      debug('the SelfSubjectReview answer is not JSON');
    }
  }
  debug(`SelfSubjectReview answered ${answer.status}: naming the user from the token's claims`);
  if (!token) return undefined;
  try {
    const claims = decodeJwtClaims(token);
    const user = typeof claims['email'] === 'string' ? claims['email'] : typeof claims['sub'] === 'string' ? claims['sub'] : undefined;
    return user === undefined ? undefined : { user, groups: groupsFrom(claims['groups']) };
  } catch {
    return undefined;
  }
}
