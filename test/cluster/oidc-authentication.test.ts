// The real kube-apiserver 1.20 authenticates ID tokens from the test provider: username from
// `email`, groups from `groups`, RBAC decides; a tampered token is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRequest, selfSubjectAccessReview, type ApiAuth } from './api-client.js';
import { startClusterFixture, type ClusterFixture } from './fixture.js';
import { clusterTierSkip } from './tier.js';

const skipTier = clusterTierSkip();
const NS = 'team-a';
const LIST_PODS = { verb: 'list', resource: 'pods', namespace: NS };

describe.skipIf(skipTier)('OIDC ID tokens against a real kube-apiserver', () => {
  let fx: ClusterFixture;
  let jane: ApiAuth;

  beforeAll(async () => {
    fx = await startClusterFixture();
    process.stderr.write(`cluster fixture: control plane ${fx.timings.controlPlaneMs} ms, OIDC authenticator wait ${fx.timings.oidcWaitMs} ms\n`);
    jane = { kind: 'bearer', token: await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] }) };
    const ns = await apiRequest(fx.cp, { method: 'POST', path: '/api/v1/namespaces', auth: fx.cp.adminAuth, body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
    expect(ns.status).toBe(201);
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('authenticates jane by email and group; RBAC allows list pods only after a binding to group developers', async () => {
    const before = await selfSubjectAccessReview(fx.cp, jane, LIST_PODS);
    expect(before).toEqual({ status: 201, allowed: false });
    // the denial names the user and group taken from the token's claims
    const denied = await apiRequest(fx.cp, { path: `/api/v1/namespaces/${NS}/pods`, auth: jane });
    expect(denied.status).toBe(403);
    expect((denied.json as { message: string }).message).toContain('User "jane@example.com" cannot list resource "pods"');

    const role = await apiRequest(fx.cp, {
      method: 'POST', path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, auth: fx.cp.adminAuth,
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
    });
    expect(role.status).toBe(201);
    const binding = await apiRequest(fx.cp, {
      method: 'POST', path: `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, auth: fx.cp.adminAuth,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'developers-pod-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
      },
    });
    expect(binding.status).toBe(201);

    const after = await selfSubjectAccessReview(fx.cp, jane, LIST_PODS);
    expect(after).toEqual({ status: 201, allowed: true });
    const pods = await apiRequest(fx.cp, { path: `/api/v1/namespaces/${NS}/pods`, auth: jane });
    expect(pods.status).toBe(200);
    // the binding is to the group, not the user: a token without the group is still denied
    const noGroup: ApiAuth = { kind: 'bearer', token: await fx.provider.mintIdToken({ email: 'jane@example.com', groups: [] }) };
    expect(await selfSubjectAccessReview(fx.cp, noGroup, LIST_PODS)).toEqual({ status: 201, allowed: false });
  });

  it('refuses a tampered token (payload changed, signature kept) with 401', async () => {
    const token = await fx.provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'] });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, groups: ['system:masters'] })).toString('base64url')}.${signature}`;
    expect(await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: tampered }, LIST_PODS)).toEqual({ status: 401, allowed: undefined });
    // the untampered token still works, so the 401 is the signature check
    expect((await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token }, LIST_PODS)).status).toBe(201);
  });

  it('refuses tokens for another audience and expired tokens with 401', async () => {
    const otherAud = await fx.provider.mintIdToken({ email: 'jane@example.com', audience: 'someone-else' });
    expect((await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: otherAud }, LIST_PODS)).status).toBe(401);
    const expired = await fx.provider.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    expect((await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: expired }, LIST_PODS)).status).toBe(401);
  });
});
