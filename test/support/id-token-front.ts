// A provider "front" for feeding bad ID tokens through the real login flow: its own HTTPS
// issuer (https://127.0.0.1:PORT/dex) whose discovery document points at its own token
// endpoint, and whose JWKS is the REAL test provider's key set (fetched from it). Tokens are
// signed by the real provider's key (mintIdToken with this front's issuer), then altered as a
// test needs: bad signature, alg none, wrong audience or issuer, expired, future iat, nonce
// mismatch. No browser is needed: the test reads the authorization URL the CLI opened and
// calls the loopback callback with a code itself, then the CLI redeems the code here.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { createCa, issueCert, removeCa } from './pki.js';
import type { MintIdTokenOptions, TestProvider } from './oidc-provider.js';
import { fetchTrusting } from './tls-fetch.js';

export interface TokenRequestRecord {
  form: URLSearchParams;
  authorization: string | undefined;
  /** performance.now() when the request arrived */
  at: number;
}

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

export type JwksMode = 'real' | 'other-key' | 'empty';

export interface IdTokenFront {
  /** https://127.0.0.1:PORT/dex */
  issuer: string;
  caPem: string;
  clientId: string;
  /** every token endpoint request, in order */
  tokenRequests: TokenRequestRecord[];
  /** what the token endpoint answers; set per test */
  answer: (form: URLSearchParams) => Promise<TokenAnswer>;
  jwks: JwksMode;
  /**
   * What the device authorization endpoint (`/dex/device/code`) answers; set per test. The
   * endpoint is advertised only when the test adds `device_authorization_endpoint` to metadata.
   */
  deviceAnswer: (form: URLSearchParams) => TokenAnswer;
  /** fields added to (or, with undefined, removed from) the discovery document */
  metadata: Record<string, unknown>;
  /** how the token endpoint's connection behaves: answer, or cut it half-way through the answer */
  tokenTransport: 'answer' | 'drop-mid-response';
  /** an ID token signed by the real provider's key, for this front's issuer */
  mint(opts?: MintIdTokenOptions): Promise<string>;
  /** a token response with fresh, recognisable access and refresh tokens around `idToken` */
  tokens(idToken: string): { id_token: string; access_token: string; refresh_token: string; token_type: string; expires_in: number };
  close(): Promise<void>;
}

/** Flips the signature of a compact JWS so that it no longer verifies. */
export function tamperSignature(jwt: string): string {
  const [h, p, s = ''] = jwt.split('.');
  const sig = Buffer.from(s, 'base64url');
  sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 0xff;
  sig[0] = (sig[0] ?? 0) ^ 0xff;
  return `${h}.${p}.${sig.toString('base64url')}`;
}

/** Same claims, header alg "none" and an empty signature. */
export function algNone(jwt: string): string {
  const [, p] = jwt.split('.');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  return `${header}.${p}.`;
}

/** Same claims, but the payload changed after signing (e.g. another email): the signature no longer matches. */
export function alterPayload(jwt: string, change: Record<string, unknown>): string {
  const [h, p, s] = jwt.split('.');
  const claims = { ...(JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')) as Record<string, unknown>), ...change };
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

export function pkceChallengeOf(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

export async function startIdTokenFront(real: TestProvider): Promise<IdTokenFront> {
  const ca = await createCa('k8s-auth id-token front');
  const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1'], kind: 'server' });
  const trusting = fetchTrusting(real.caPem);
  const realDiscovery = (await (await trusting(`${real.issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  const realJwks = (await (await trusting(realDiscovery.jwks_uri)).json()) as { keys: JWK[] };
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const otherJwks = { keys: [{ ...(publicKey.export({ format: 'jwk' }) as JWK), kid: 'someone-else', alg: 'RS256', use: 'sig' }] };

  let issuer = '';
  const front: IdTokenFront = {
    issuer: '',
    caPem: ca.certPem,
    clientId: real.clientId,
    tokenRequests: [],
    answer: async () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'no answer set for this test' } }),
    jwks: 'real',
    deviceAnswer: () => ({ status: 400, body: { error: 'invalid_request', error_description: 'no device answer set for this test' } }),
    tokenTransport: 'answer',
    metadata: {},
    mint: (opts = {}) => real.mintIdToken({ issuer, ...opts }),
    tokens: (idToken) => ({
      id_token: idToken,
      access_token: `at-${randomBytes(24).toString('base64url')}`,
      refresh_token: `rt-${randomBytes(24).toString('base64url')}`,
      token_type: 'Bearer',
      expires_in: 3600,
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await trusting.close();
      await removeCa(ca);
    },
  };

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    if (path === '/dex/.well-known/openid-configuration') {
      const document: Record<string, unknown> = {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code', 'refresh_token', 'password'],
        token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
        scopes_supported: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        claims_supported: ['sub', 'email', 'email_verified', 'groups', 'name'],
        ...front.metadata,
      };
      for (const [k, v] of Object.entries(document)) if (v === undefined) delete document[k];
      return send(res, 200, document);
    }
    if (path === '/dex/keys') {
      return send(res, 200, front.jwks === 'real' ? realJwks : front.jwks === 'other-key' ? otherJwks : { keys: [] });
    }
    if (path === '/dex/token' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      front.tokenRequests.push({ form, authorization: req.headers.authorization, at: performance.now() });
      if (front.tokenTransport === 'drop-mid-response') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
        res.write('{"id_token":"eyJhbGciOi');
        setTimeout(() => req.socket.destroy(), 50);
        return;
      }
      const answer = await front.answer(form);
      return send(res, answer.status, answer.body);
    }
    if (path === '/dex/device/code' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const answer = front.deviceAnswer(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      return send(res, answer.status, answer.body);
    }
    send(res, 404, { error: 'not_found' });
  };

  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(error) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  issuer = `https://127.0.0.1:${(server.address() as AddressInfo).port}/dex`;
  front.issuer = issuer;
  return front;
}
