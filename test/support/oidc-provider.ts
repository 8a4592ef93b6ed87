// A real OpenID provider (panva/oidc-provider v9, OpenID Certified) shaped like Dex, for tests:
// HTTPS on 127.0.0.1 with a throwaway CA, issuer with a path (/dex), claims in the ID token,
// refresh tokens on offline_access without a consent screen, rotating on every use, a
// password grant, device flow, and a plain password form at /dex/interaction/:uid.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, importJWK, type JWK } from 'jose';
import type Provider from 'oidc-provider';
import type { Account, KoaContextWithOIDC } from 'oidc-provider';
import { createCa, issueCert, removeCa } from './pki.js';
import { errorPage, loginPage } from './oidc-provider-pages.js';
import { registerPasswordGrant } from './oidc-provider-password-grant.js';
import { buildProviderConfiguration, DEVICE_CODE_GRANT, MOUNT } from './oidc-provider-config.js';

export { DEVICE_CODE_GRANT };
import { readBody, rewriteJsonResponse, sendHtml, sendJson } from './http-helpers.js';
import { DEFAULT_USERS, dexSubject, resolveUser, userClaims, type ResolvedTestUser, type TestUser } from './oidc-users.js';

export { DEFAULT_USERS, dexSubject, resolveUser, userClaims, type ResolvedTestUser, type TestUser };

export interface ProviderStats {
  authorization_code: number;
  refresh_token: number;
  device_code: number;
  password: number;
  revocations: number;
  /** token endpoint requests answered with an error (injected faults included) */
  tokenErrors: number;
}

export type DiscoveryFault = 'not-found' | 'invalid-json' | 'issuer-mismatch';

export interface ProviderFaults {
  /** discovery document fault; null = serve the real document */
  discovery: DiscoveryFault | null;
  /** answer every token endpoint request with HTTP 500 {"error":"server_error"} */
  token500: boolean;
  /** delay every token endpoint request by this many ms before handling it */
  tokenDelayMs: number;
}

export interface MintIdTokenOptions {
  email?: string;
  sub?: string;
  groups?: string[];
  emailVerified?: boolean;
  audience?: string | string[];
  issuer?: string;
  expiresInSeconds?: number;
  /** epoch seconds; default now */
  issuedAt?: number;
  nonce?: string;
  extraClaims?: Record<string, unknown>;
}

export interface TestProvider {
  /** https://127.0.0.1:<port>/dex */
  issuer: string;
  /** https://127.0.0.1:<port> */
  origin: string;
  port: number;
  caPem: string;
  caFile: string;
  /** 'k8s-auth', public native client (PKCE, any loopback port) */
  clientId: string;
  confidentialClient: { id: string; secret: string; redirectUris: string[] };
  users: ResolvedTestUser[];
  /** live counters; reset with resetStats() */
  stats: ProviderStats;
  resetStats(): void;
  /** live toggles; reset with resetFaults() */
  faults: ProviderFaults;
  resetFaults(): void;
  setIdTokenTtl(seconds: number): void;
  setRefreshOmitsIdToken(omit: boolean): void;
  /** The `scope` parameter of each refresh request, in order (null: none sent); cleared by resetStats(). */
  refreshScopes: (string | null)[];
  /** Ends every grant (and so every refresh token) of this user, as an admin's revocation does. */
  revokeGrantsOf(email: string): Promise<number>;
  mintIdToken(opts?: MintIdTokenOptions): Promise<string>;
  close(): Promise<void>;
}


/** Imports oidc-provider without its console notices (Node 20 runtime notice, in-memory adapter). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const { warn, info } = console;
  const filter = (orig: (...a: unknown[]) => void) => (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
    orig.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

function statKey(grantType: unknown): keyof ProviderStats | undefined {
  switch (grantType) {
    case 'authorization_code': return 'authorization_code';
    case 'refresh_token': return 'refresh_token';
    case DEVICE_CODE_GRANT: return 'device_code';
    case 'password': return 'password';
    default: return undefined;
  }
}

const emptyStats = (): ProviderStats => ({ authorization_code: 0, refresh_token: 0, device_code: 0, password: 0, revocations: 0, tokenErrors: 0 });
const noFaults = (): ProviderFaults => ({ discovery: null, token500: false, tokenDelayMs: 0 });

export interface TestProviderOptions {
  users?: TestUser[];
  idTokenTtlSeconds?: number;
  port?: number;
  confidentialRedirectUris?: string[];
  /**
   * Scopes this provider grants never, though asked (one that does not know them, or grants
   * them only with a consent nobody gave): dropped from browser and password sign-ins, so the
   * token response's `scope` lists fewer than requested, and a refresh that asks for them is
   * answered `invalid_scope` ("refresh token missing requested scope"), as Dex and Keycloak do.
   */
  withholdScopes?: string[];
  /**
   * Dex's rule: one refresh token per user and client. A new sign-in (browser, password,
   * device code) ends the grant of the previous one, whose refresh token then gets invalid_grant.
   */
  oneRefreshTokenPerUser?: boolean;
}

export async function startTestProvider(opts: TestProviderOptions = {}): Promise<TestProvider> {
  const users = (opts.users ?? DEFAULT_USERS).map(resolveUser);
  const bySub = new Map(users.map((u) => [u.sub, u]));
  const findByLogin = (login: string): ResolvedTestUser | undefined => {
    const l = login.trim().toLowerCase();
    return users.find((u) => u.email.toLowerCase() === l || u.preferredUsername.toLowerCase() === l);
  };
  let idTokenTtl = opts.idTokenTtlSeconds ?? 3600;
  let refreshOmitsIdToken = false;
  const withheld = new Set(opts.withholdScopes ?? []);
  const refreshScopes: (string | null)[] = [];
  /** `${accountId} ${clientId}` → grant ids, for oneRefreshTokenPerUser and revokeGrantsOf */
  const grantsOf = new Map<string, string[]>();
  const stats = emptyStats();
  const faults = noFaults();
  const confidentialSecret = randomBytes(18).toString('base64url');
  const confidentialRedirectUris = opts.confidentialRedirectUris ?? ['http://127.0.0.1:18000/callback'];

  const ca = await createCa('k8s-auth test OIDC CA');
  const cert = await issueCert(ca, { commonName: '127.0.0.1', sans: ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'], kind: 'server' });

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingJwk: JWK = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid: `test-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

  let provider: Provider | undefined;
  let providerCallback: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;

  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
      else res.destroy();
    });
  });
  // Dex (Go's net/http) keeps idle connections open; Node's 5 s default closes them under a
  // client's feet when the machine is busy (a reused socket then reads ECONNRESET on /token)
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `https://127.0.0.1:${port}`;
  const issuer = `${origin}${MOUNT}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const path = url.pathname;
    if (!provider || !providerCallback || (path !== MOUNT && !path.startsWith(`${MOUNT}/`))) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    if (path === `${MOUNT}/.well-known/openid-configuration` && faults.discovery) {
      if (faults.discovery === 'not-found') return sendJson(res, 404, { error: 'not_found' });
      if (faults.discovery === 'invalid-json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"issuer": "truncated');
        return;
      }
      rewriteJsonResponse(res, (doc) => JSON.stringify({ ...doc, issuer: `${origin}/not-dex` }));
    }
    if (path === `${MOUNT}/token` && req.method === 'POST') {
      if (faults.tokenDelayMs > 0) await new Promise((r) => setTimeout(r, faults.tokenDelayMs));
      if (faults.token500) {
        const key = statKey(new URLSearchParams(await readBody(req)).get('grant_type'));
        if (key) stats[key] += 1;
        stats.tokenErrors += 1;
        return sendJson(res, 500, { error: 'server_error', error_description: 'injected fault' });
      }
    }
    if (path === `${MOUNT}/token/revocation` && req.method === 'POST') stats.revocations += 1;
    const interaction = /^\/dex\/interaction\/([^/]+)$/.exec(path);
    if (interaction) return handleInteraction(req, res, url);
    if (path === `${MOUNT}/auth` && req.method === 'GET') {
      withholdFromAuthorization(url, req);
      addConsentPromptForOfflineAccess(url, req);
    }
    // mount under /dex: oidc-provider derives its mount path from originalUrl minus url
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
    req.url = (req.url ?? '/').slice(MOUNT.length) || '/';
    providerCallback(req, res);
  }

  // a reduced-scope provider never sees the scopes it withholds, so it grants the rest
  function withholdFromAuthorization(url: URL, req: IncomingMessage): void {
    const scope = url.searchParams.get('scope');
    if (withheld.size === 0 || scope === null) return;
    url.searchParams.set('scope', scope.split(' ').filter((s) => s && !withheld.has(s)).join(' '));
    req.url = `${url.pathname}${url.search}`;
  }

  // oidc-provider drops offline_access unless prompt=consent; Dex grants it without asking.
  // The consent prompt is then auto-granted by the interaction handler.
  function addConsentPromptForOfflineAccess(url: URL, req: IncomingMessage): void {
    const scopes = (url.searchParams.get('scope') ?? '').split(' ');
    const prompts = new Set((url.searchParams.get('prompt') ?? '').split(' ').filter(Boolean));
    if (!scopes.includes('offline_access') || prompts.has('consent') || prompts.has('none')) return;
    prompts.add('consent');
    url.searchParams.set('prompt', [...prompts].join(' '));
    req.url = `${url.pathname}${url.search}`;
  }

  async function grantAll(p: Provider, accountId: string, params: Record<string, unknown>): Promise<string> {
    const grant = new p.Grant({ accountId, clientId: String(params.client_id) });
    if (typeof params.scope === 'string') grant.addOIDCScope(params.scope);
    return grant.save();
  }

  async function handleInteraction(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = provider as Provider;
    let details;
    try {
      details = await p.interactionDetails(req, res);
    } catch (err) {
      return sendHtml(res, 400, errorPage({ error: 'invalid_request', error_description: (err as Error).message }));
    }
    const action = url.pathname;
    if (req.method === 'GET') {
      const accountId = details.session?.accountId;
      if (details.prompt.name === 'consent' && accountId) {
        // Dex skips the approval screen: grant every requested scope
        const grantId = await grantAll(p, accountId, details.params);
        await p.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        return;
      }
      return sendHtml(res, 200, loginPage(action, { invalid: false }));
    }
    if (req.method !== 'POST') return sendHtml(res, 405, errorPage({ error: 'method not allowed' }));
    const form = new URLSearchParams(await readBody(req));
    const login = form.get('login') ?? '';
    const user = findByLogin(login);
    if (!user || form.get('password') !== user.password) {
      return sendHtml(res, 200, loginPage(action, { invalid: true, login }));
    }
    const grantId = await grantAll(p, user.sub, details.params);
    await p.interactionFinished(req, res, { login: { accountId: user.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  const findAccount = (_ctx: KoaContextWithOIDC, sub: string): Account | undefined => {
    const user = bySub.get(sub);
    if (!user) return undefined;
    return { accountId: sub, claims: () => ({ ...userClaims(user), sub }) };
  };

  const configuration = buildProviderConfiguration({
    confidentialSecret,
    confidentialRedirectUris,
    signingJwk,
    findAccount,
    idTokenTtl: () => idTokenTtl,
  });

  const { default: ProviderClass, errors } = await quietly(() => import('oidc-provider'));
  const p = await quietly(async () => new ProviderClass(issuer, configuration));
  registerPasswordGrant(p, errors, { findByLogin, findAccount: (sub) => findAccount({} as KoaContextWithOIDC, sub), withholdScopes: [...withheld] });

  const endGrant = async (grantId: string): Promise<void> => {
    const grant = await p.Grant.find(grantId);
    await grant?.destroy();
  };
  p.on('grant.success', (ctx: KoaContextWithOIDC) => {
    const key = statKey(ctx.oidc.params?.grant_type);
    if (key) stats[key] += 1;
    if (key === 'refresh_token') refreshScopes.push(typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope : null);
    const grant = ctx.oidc.entities.Grant;
    if (grant?.jti && grant.accountId && key && key !== 'refresh_token') {
      const owner = `${grant.accountId} ${grant.clientId ?? ''}`;
      const earlier = grantsOf.get(owner) ?? [];
      // Dex: the new sign-in's refresh token replaces the old one (ended before the response is sent)
      if (opts.oneRefreshTokenPerUser) for (const id of earlier) if (id !== grant.jti) void endGrant(id);
      grantsOf.set(owner, opts.oneRefreshTokenPerUser ? [grant.jti] : [...earlier, grant.jti]);
    }
    const body = ctx.body as Record<string, unknown> | undefined;
    if (refreshOmitsIdToken && key === 'refresh_token' && body && typeof body === 'object') delete body.id_token;
  });
  p.on('grant.error', (ctx: KoaContextWithOIDC) => {
    const key = statKey(ctx.oidc?.params?.grant_type);
    if (key) stats[key] += 1;
    if (key === 'refresh_token') refreshScopes.push(typeof ctx.oidc.params?.scope === 'string' ? ctx.oidc.params.scope : null);
    stats.tokenErrors += 1;
  });
  provider = p;
  providerCallback = p.callback() as (req: IncomingMessage, res: ServerResponse) => void;

  const signingKey = await importJWK(signingJwk, 'RS256');

  return {
    issuer,
    origin,
    port,
    caPem: ca.certPem,
    caFile: ca.certFile,
    clientId: 'k8s-auth',
    confidentialClient: { id: 'k8s-auth-confidential', secret: confidentialSecret, redirectUris: [...confidentialRedirectUris] },
    users,
    stats,
    resetStats: () => {
      Object.assign(stats, emptyStats());
      refreshScopes.length = 0;
    },
    refreshScopes,
    async revokeGrantsOf(email) {
      const user = findByLogin(email);
      if (!user) return 0;
      let ended = 0;
      for (const [owner, ids] of grantsOf) {
        if (!owner.startsWith(`${user.sub} `)) continue;
        for (const id of ids) {
          await endGrant(id);
          ended += 1;
        }
        grantsOf.set(owner, []);
      }
      return ended;
    },
    faults,
    resetFaults: () => void Object.assign(faults, noFaults()),
    setIdTokenTtl: (seconds) => {
      idTokenTtl = seconds;
    },
    setRefreshOmitsIdToken: (omit) => {
      refreshOmitsIdToken = omit;
    },
    async mintIdToken(o = {}) {
      const known = o.email ? findByLogin(o.email) : o.sub ? bySub.get(o.sub) : users[0];
      const base = known ? userClaims(known) : {};
      const now = o.issuedAt ?? Math.floor(Date.now() / 1000);
      const claims: Record<string, unknown> = {
        ...base,
        ...(o.email !== undefined ? { email: o.email } : {}),
        ...(o.sub !== undefined ? { sub: o.sub } : {}),
        ...(o.groups !== undefined ? { groups: o.groups } : {}),
        ...(o.emailVerified !== undefined ? { email_verified: o.emailVerified } : {}),
        ...(o.nonce !== undefined ? { nonce: o.nonce } : {}),
        ...o.extraClaims,
      };
      if (claims.sub === undefined) claims.sub = dexSubject(String(o.email ?? 'user'), 'local');
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: signingJwk.kid as string, typ: 'JWT' })
        .setIssuer(o.issuer ?? issuer)
        .setAudience(o.audience ?? 'k8s-auth')
        .setIssuedAt(now)
        .setExpirationTime(now + (o.expiresInSeconds ?? idTokenTtl))
        .sign(signingKey);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await removeCa(ca);
    },
  };
}
