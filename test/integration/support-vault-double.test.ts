import { readFileSync } from 'node:fs';
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListRewriter } from '../support/list-method.js';
import { fetchTrusting } from '../support/tls-fetch.js';
import { startVaultDouble, type K8sCredsRequest, type VaultDouble } from '../support/vault-double.js';

interface ApiError {
  message: string;
  response: { statusCode: number; body: unknown };
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    return err as ApiError;
  }
  throw new Error('expected the call to fail');
}

// The double is kept only for answers real OpenBao (test/peers/openbao) never gives on demand:
// malformed bodies (vault-malformed-answers.test.ts), a slow answer, a dropped connection.
describe('support: Vault double, driven by the real node-vault client', () => {
  let v: VaultDouble;
  let client: vault.client;

  beforeAll(async () => {
    v = await startVaultDouble({ tls: true });
    client = vault({ apiVersion: 'v1', endpoint: v.address, token: v.token, requestOptions: { ca: readFileSync(v.caFile as string, 'utf8') } });
    v.putKv('secret', 'k8s-auth/clusters/prod', { server: 'https://127.0.0.1:6443', issuer: 'https://127.0.0.1:5556/dex' }, { customMetadata: { owner: 'platform' } });
    v.putKv('secret', 'k8s-auth/clusters/prod', { server: 'https://127.0.0.1:6443', issuer: 'https://127.0.0.1:5556/dex', clientId: 'k8s-auth' });
    v.putKv('secret', 'k8s-auth/clusters/staging', { server: 'https://127.0.0.1:7443' });
    v.putKv('secret', 'k8s-auth/clusters/eu/one', { server: 'https://127.0.0.1:8443' });
  });
  afterAll(async () => {
    await v?.close();
  });

  it('answers sys/health over HTTPS with its CA, and token lookup-self', async () => {
    const health = (await client.health()) as Record<string, unknown>;
    expect(health).toMatchObject({ initialized: true, sealed: false, standby: false });
    const self = (await client.tokenLookupSelf()) as { data: { id: string; policies: string[] } };
    expect(self.data.id).toBe(v.token);
    // without the CA, TLS fails
    const untrusting = vault({ apiVersion: 'v1', endpoint: v.address, token: v.token });
    await expect(untrusting.read('secret/data/k8s-auth/clusters/prod')).rejects.toThrow(/certificate/i);
  });

  it('reads a KV v2 secret with the full documented envelope', async () => {
    const res = (await client.read('secret/data/k8s-auth/clusters/prod')) as Record<string, unknown>;
    expect(Object.keys(res).sort()).toEqual(['auth', 'data', 'lease_duration', 'lease_id', 'renewable', 'request_id', 'warnings', 'wrap_info']);
    expect(res).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null, warnings: null, auth: null });
    expect(res.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const data = res.data as { data: Record<string, string>; metadata: Record<string, unknown> };
    expect(data.data).toEqual({ server: 'https://127.0.0.1:6443', issuer: 'https://127.0.0.1:5556/dex', clientId: 'k8s-auth' });
    expect(data.metadata).toMatchObject({ custom_metadata: { owner: 'platform' }, deletion_time: '', destroyed: false, version: 2 });
    expect(Date.parse(data.metadata.created_time as string)).not.toBeNaN();
    const v1 = (await client.read('secret/data/k8s-auth/clusters/prod?version=1')) as { data: { data: Record<string, string> } };
    expect(v1.data.data.clientId).toBeUndefined();
  });

  it('lists keys (LIST and ?list=1), folders with a trailing slash; 404 {"errors":[]} when absent', async () => {
    const listed = (await client.list('secret/metadata/k8s-auth/clusters')) as { data: { keys: string[] } };
    expect(listed.data.keys).toEqual(['eu/', 'prod', 'staging']);
    const viaGet = vault({ apiVersion: 'v1', endpoint: v.address, token: v.token, noCustomHTTPVerbs: true, requestOptions: { ca: v.caPem } });
    expect(((await viaGet.list('secret/metadata/k8s-auth/clusters/')) as { data: { keys: string[] } }).data.keys).toEqual(['eu/', 'prod', 'staging']);
    expect(v.requests.some((r) => r.method === 'GET' && r.query === 'list=1')).toBe(true);
    expect(v.requests.some((r) => r.method === 'LIST')).toBe(true);

    const missing = await failure(client.read('secret/data/k8s-auth/clusters/nope'));
    expect(missing.response.statusCode).toBe(404);
    expect(missing.response.body).toEqual({ errors: [] });
    const emptyList = await failure(client.list('secret/metadata/nothing-here'));
    expect(emptyList.response.statusCode).toBe(404);
    // a v1-style path on a v2 mount: 404 with Vault's warning
    const v1Path = await failure(client.read('secret/k8s-auth/clusters/prod'));
    expect(v1Path.response.statusCode).toBe(404);
    expect((v1Path.response.body as { warnings: string[] }).warnings[0]).toMatch(/^Invalid path for a versioned K\/V secrets engine/);
  });

  it('tells the mount version through sys/internal/ui/mounts and behaves as KV v1 when set so', async () => {
    const ui = (await client.read('sys/internal/ui/mounts/secret/k8s-auth/clusters/prod')) as { data: { type: string; path: string; options: { version: string } } };
    expect(ui.data).toMatchObject({ type: 'kv', path: 'secret/', options: { version: '2' } });
    const noMount = await failure(client.read('sys/internal/ui/mounts/elsewhere/x'));
    expect(noMount.response.statusCode).toBe(403);
    expect(noMount.message).toContain('preflight capability check returned 403');

    v.putKv('kv', 'team/config', { server: 'https://127.0.0.1:9443' });
    v.setKvVersion('kv', 1);
    const ui1 = (await client.read('sys/internal/ui/mounts/kv/team/config')) as { data: { options: { version: string } } };
    expect(ui1.data.options.version).toBe('1');
    const read = (await client.read('kv/team/config')) as { data: Record<string, string>; lease_duration: number };
    expect(read.data).toEqual({ server: 'https://127.0.0.1:9443' });
    expect(read.lease_duration).toBe(768 * 3600);
    expect(((await client.list('kv/team')) as { data: { keys: string[] } }).data.keys).toEqual(['config']);
    expect((await failure(client.read('kv/data/team/config'))).response.statusCode).toBe(404);
  });

  it('refuses a missing or wrong token with 403 permission denied, and never records the token', async () => {
    const noToken = vault({ apiVersion: 'v1', endpoint: v.address, requestOptions: { ca: v.caPem } });
    noToken.token = '';
    const e1 = await failure(noToken.read('secret/data/k8s-auth/clusters/prod'));
    expect(e1.response.statusCode).toBe(403);
    expect(e1.response.body).toEqual({ errors: ['permission denied'] });
    const wrong = vault({ apiVersion: 'v1', endpoint: v.address, token: 'hvs.wrong', requestOptions: { ca: v.caPem } });
    expect((await failure(wrong.read('secret/data/k8s-auth/clusters/prod'))).response.statusCode).toBe(403);
    expect(JSON.stringify(v.requests)).not.toContain(v.token);
    expect(v.requests.filter((r) => !r.hasToken).length).toBeGreaterThan(0);
  });

  it('answers 503 Vault is sealed when sealed (health says so too), and recovers on unseal', async () => {
    v.seal();
    try {
      const e = await failure(client.read('secret/data/k8s-auth/clusters/prod'));
      expect(e.response.statusCode).toBe(503);
      expect(e.response.body).toEqual({ errors: ['Vault is sealed'] });
      expect(((await client.health()) as { sealed: boolean }).sealed).toBe(true);
    } finally {
      v.unseal();
    }
    expect(((await client.read('secret/data/k8s-auth/clusters/prod')) as { data: unknown }).data).toBeTruthy();
  });

  it('scopes data by X-Vault-Namespace and records the header', async () => {
    v.putKv('secret', 'k8s-auth/clusters/prod', { server: 'https://127.0.0.1:16443' }, { namespace: 'team-a' });
    const teamA = vault({ apiVersion: 'v1', endpoint: v.address, token: v.token, namespace: 'team-a', requestOptions: { ca: v.caPem } });
    const a = (await teamA.read('secret/data/k8s-auth/clusters/prod')) as { data: { data: { server: string } } };
    expect(a.data.data.server).toBe('https://127.0.0.1:16443');
    expect((await failure(teamA.read('secret/data/k8s-auth/clusters/staging'))).response.statusCode).toBe(404);
    const teamB = vault({ apiVersion: 'v1', endpoint: v.address, token: v.token, namespace: 'team-b', requestOptions: { ca: v.caPem } });
    const noRoute = await failure(teamB.read('secret/data/k8s-auth/clusters/prod'));
    expect(noRoute.response.statusCode).toBe(404);
    expect(noRoute.message).toContain('no handler for route');
    expect(v.requests.at(-1)).toMatchObject({ method: 'GET', path: '/v1/secret/data/k8s-auth/clusters/prod', namespace: 'team-b', hasToken: true });
  });

  it('issues Kubernetes credentials from the creds endpoint, with Vault errors for bad roles and namespaces', async () => {
    const seen: K8sCredsRequest[] = [];
    v.setK8sRole('kubernetes', 'developer', {
      allowedNamespaces: ['dev', 'staging'],
      tokenMaxTtlSeconds: 7200,
      mint: async (req) => {
        seen.push(req);
        return { token: 'eyJ.test.token', ttlSeconds: Math.min(req.ttlSeconds, 1800), serviceAccountName: 'sa-jane', namespace: req.namespace };
      },
    });
    const res = (await client.write('kubernetes/creds/developer', {
      kubernetes_namespace: 'dev', ttl: '1h', audiences: 'https://kubernetes.default.svc,extra', cluster_role_binding: false,
    })) as { lease_id: string; lease_duration: number; renewable: boolean; data: Record<string, string>; warnings: string[] };
    expect(res.lease_id).toMatch(/^kubernetes\/creds\/developer\/[A-Za-z0-9]{24}$/);
    expect(res.renewable).toBe(false);
    expect(res.lease_duration).toBe(1800);
    expect(res.warnings[0]).toContain('is less than the Vault lease TTL 1h0m0s; capping the lease TTL accordingly');
    expect(res.data).toEqual({ service_account_name: 'sa-jane', service_account_namespace: 'dev', service_account_token: 'eyJ.test.token' });
    expect(seen[0]).toMatchObject({ mount: 'kubernetes', role: 'developer', namespace: 'dev', ttlSeconds: 3600, audiences: ['https://kubernetes.default.svc', 'extra'], clusterRoleBinding: false });

    const unknownRole = await failure(client.write('kubernetes/creds/nobody', { kubernetes_namespace: 'dev' }));
    expect(unknownRole.response.statusCode).toBe(400);
    expect(unknownRole.response.body).toEqual({ errors: ["role 'nobody' does not exist"] });
    const badNs = await failure(client.write('kubernetes/creds/developer', { kubernetes_namespace: 'kube-system' }));
    expect(badNs.response.statusCode).toBe(400);
    expect(badNs.message).toBe("kubernetes_namespace 'kube-system' is not present in role's allowed_kubernetes_namespaces or does not match role's label selector allowed_kubernetes_namespace_selector");
    const noNs = await failure(client.write('kubernetes/creds/developer', {}));
    expect(noNs.message).toBe("'kubernetes_namespace' is required");
    const crb = await failure(client.write('kubernetes/creds/developer', { kubernetes_namespace: 'dev', cluster_role_binding: true }));
    expect(crb.message).toBe('a ClusterRoleBinding cannot ref a Role');

    // default mint: an unsigned placeholder that says it is one
    v.setK8sRole('kubernetes', 'viewer', {});
    const ph = (await client.write('kubernetes/creds/viewer', { kubernetes_namespace: 'default', ttl: 600 })) as { lease_duration: number; data: { service_account_token: string } };
    expect(ph.lease_duration).toBe(600);
    const [header, payload, signature] = ph.data.service_account_token.split('.');
    expect(JSON.parse(Buffer.from(header as string, 'base64url').toString())).toEqual({ alg: 'none', typ: 'JWT' });
    expect(Buffer.from(payload as string, 'base64url').toString()).toContain('vault-double');
    expect(signature).toBe('');
  });

  it('adds latency and drops a connection on request', async () => {
    v.setLatency(200);
    const t = Date.now();
    await client.health();
    expect(Date.now() - t).toBeGreaterThanOrEqual(200);
    v.setLatency(0);
    v.dropNextConnection();
    await expect(client.read('secret/data/k8s-auth/clusters/prod')).rejects.toThrow(/socket hang up|ECONNRESET/i);
    expect(((await client.read('secret/data/k8s-auth/clusters/prod')) as { data: unknown }).data).toBeTruthy();
  });

  it('answers a raw status and body on one path until the override is removed (answerRaw)', async () => {
    v.answerRaw('/v1/secret/data/k8s-auth/clusters/prod/', { status: 200, body: { data: { not: 'kv v2' } } });
    expect(((await client.read('secret/data/k8s-auth/clusters/prod')) as { data: unknown }).data).toEqual({ not: 'kv v2' });
    v.answerRaw('secret/data/k8s-auth/clusters/prod', { status: 502, body: '<h1>Bad Gateway</h1>', contentType: 'text/html' });
    const gateway = await failure(client.read('secret/data/k8s-auth/clusters/prod'));
    expect(gateway.response.statusCode).toBe(502);
    expect(String(gateway.response.body)).toContain('Bad Gateway');
    // other paths are untouched
    expect(((await client.read('secret/data/k8s-auth/clusters/staging')) as { data: { data: unknown } }).data.data).toEqual({ server: 'https://127.0.0.1:7443' });
    v.answerRaw('secret/data/k8s-auth/clusters/prod', undefined);
    expect(((await client.read('secret/data/k8s-auth/clusters/prod')) as { data: { data: { clientId: string } } }).data.data.clientId).toBe('k8s-auth');
  });
});

describe('support: LIST method through node:http', () => {
  it('rewrites LIST request lines across keep-alive requests, bodies and split chunks', () => {
    const wire =
      'POST /v1/a HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\n{"x":"\r\nLIST /no"}' +
      'LIST /v1/secret/metadata/ HTTP/1.1\r\nHost: x\r\nx-list-method: SPOOF\r\n\r\n' +
      'GET /v1/b HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const size of [1, 3, 7, wire.length]) {
      const r = new ListRewriter();
      let out = '';
      for (let i = 0; i < wire.length; i += size) out += r.push(Buffer.from(wire.slice(i, i + size), 'latin1')).toString('latin1');
      expect(out).toBe(
        'POST /v1/a HTTP/1.1\r\nHost: x\r\nContent-Length: 18\r\n\r\n{"x":"\r\nLIST /no"}' +
          'GET /v1/secret/metadata/ HTTP/1.1\r\nx-list-method: LIST\r\nHost: x\r\n\r\n' +
          'GET /v1/b HTTP/1.1\r\nHost: x\r\n\r\n',
      );
    }
  });

  it('serves LIST from fetch over a reused HTTPS connection, between POST and GET', async () => {
    const v = await startVaultDouble({ tls: true });
    const f = fetchTrusting(v.caPem as string);
    try {
      v.putKv('secret', 'team/a', { k: '1' });
      v.setK8sRole('kubernetes', 'r', {});
      const headers = { 'X-Vault-Token': v.token };
      for (let i = 0; i < 3; i += 1) {
        const post = await f(`${v.address}/v1/kubernetes/creds/r`, { method: 'POST', headers, body: JSON.stringify({ kubernetes_namespace: 'default' }) });
        expect(post.status).toBe(200);
        await post.json();
        const list = await f(`${v.address}/v1/secret/metadata/team/`, { method: 'LIST', headers });
        expect(list.status).toBe(200);
        expect(((await list.json()) as { data: { keys: string[] } }).data.keys).toEqual(['a']);
        const get = await f(`${v.address}/v1/secret/data/team/a`, { headers });
        expect(get.status).toBe(200);
        await get.json();
      }
      expect(v.requests.map((r) => r.method)).toEqual(['POST', 'LIST', 'GET', 'POST', 'LIST', 'GET', 'POST', 'LIST', 'GET']);
    } finally {
      await f.close();
      await v.close();
    }
  });
});

describe('support: Vault double over plain HTTP with a fixed token', () => {
  it('serves http:// and accepts only the given token', async () => {
    const v = await startVaultDouble({ token: 'root' });
    try {
      expect(v.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(v.caFile).toBeUndefined();
      v.putKv('secret', 'a', { b: 'c' });
      const c = vault({ apiVersion: 'v1', endpoint: v.address, token: 'root' });
      expect(((await c.read('secret/data/a')) as { data: { data: unknown } }).data.data).toEqual({ b: 'c' });
      const written = (await c.write('secret/data/x/y', { data: { k: 'v' } })) as { data: { version: number } };
      expect(written.data.version).toBe(1);
      expect(((await c.list('secret/metadata')) as { data: { keys: string[] } }).data.keys).toEqual(['a', 'x/']);
    } finally {
      await v.close();
    }
  });
});
