import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { createIdTokenGate } from '../../src/adapters/proxy-id-tokens.js';
import { verifyIdToken } from '../../src/adapters/id-token-verifier.js';
import { clearSecretsForTest, registeredSecretCountForTest } from '../../src/ui/redact.js';

const ISSUER = 'https://issuer.example';

/** An in-memory issuer: discovery and JWKS answered by an injected fetch, tokens signed with its key. */
async function issuer() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let requests = 0;
  const fetch = (async (input: string | URL) => {
    requests++;
    const url = String(input);
    if (url === `${ISSUER}/.well-known/openid-configuration`) return Response.json({ issuer: ISSUER, jwks_uri: `${ISSUER}/keys` });
    if (url === `${ISSUER}/keys`) return Response.json({ keys: [jwk] });
    return new Response('not found', { status: 404 });
  }) as typeof globalThis.fetch;
  const sign = (email: string) =>
    new SignJWT({ email, email_verified: true, groups: ['dev'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience('cluster')
      .setSubject(email)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  return { fetch, sign, requests: () => requests };
}

const mapping = { usernameClaim: 'email', usernamePrefix: '', groupsClaim: 'groups', groupsPrefix: 'oidc:' };

describe('proxy serve ID-token gate', () => {
  it('verifies many callers without growing the redactor, and caches discovery and keys', async () => {
    const peer = await issuer();
    const gate = createIdTokenGate({ issuerUrl: ISSUER, clientId: 'cluster', caPems: [], mapping, timeoutMs: 1000, fetch: peer.fetch });
    clearSecretsForTest();
    for (let i = 0; i < 40; i++) {
      const result = await gate.check(`Bearer ${await peer.sign(`user${i}@example.com`)}`);
      expect(result).toEqual({ ok: true, identity: { user: `user${i}@example.com`, groups: ['oidc:dev'] } });
    }
    expect(registeredSecretCountForTest()).toBe(0);
    // Discovery and the key set are fetched once for the gate and once for the verifier's first run, then cached.
    expect(peer.requests()).toBeLessThanOrEqual(4);
  });

  it('a CLI verification still registers its token, so the count above is meaningful', async () => {
    const peer = await issuer();
    clearSecretsForTest();
    await verifyIdToken(await peer.sign('cli@example.com'), { issuerUrl: ISSUER, audience: 'cluster', fetch: peer.fetch });
    expect(registeredSecretCountForTest()).toBe(1);
  });

  it('refuses a token for another audience with a reason and no identity', async () => {
    const peer = await issuer();
    const gate = createIdTokenGate({ issuerUrl: ISSUER, clientId: 'other', caPems: [], mapping, timeoutMs: 1000, fetch: peer.fetch });
    const result = await gate.check(`Bearer ${await peer.sign('a@example.com')}`);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(/audience 'cluster', not 'other'/);
  });
});
