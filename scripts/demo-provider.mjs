// The demo's identity provider: a real OpenID provider (oidc-provider, a devDependency) shaped
// like Dex, on loopback HTTPS with a throwaway CA made by the openssl CLI. Plain JS so that
// `npm run demo` needs no TypeScript loader. One public native client `k8s-auth` (PKCE, any
// loopback port), Dex scopes/claims in the ID token, refresh tokens on offline_access without
// a consent screen, and a plain password form at /dex/interaction/:uid.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';

const MOUNT = '/dex';

function openssl(args, cwd) {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error("openssl is not installed: install it (e.g. 'apt-get install openssl') and run the demo again");
    throw new Error(`openssl ${args[0]} failed: ${String(error.stderr ?? error.message).trim()}`);
  }
}

/** A throwaway CA and a server certificate for 127.0.0.1 / ::1 / localhost, in `dir`. */
export function makeLoopbackPki(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ec = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['genpkey', ...ec, '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', '2', '-subj', '/CN=k8s-auth demo CA', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['genpkey', ...ec, '-out', 'server.key'], dir);
  openssl(['req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr'], dir);
  const ext = 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature';
  execFileSync('sh', ['-c', `printf '%s\\n' "$EXT" > server.ext`], { cwd: dir, env: { ...process.env, EXT: ext } });
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-sha256', '-extfile', 'server.ext', '-out', 'server.pem'], dir);
  const read = (name) => readFileSync(join(dir, name), 'utf8');
  return { caPem: read('ca.pem'), certPem: read('server.pem'), keyPem: read('server.key') };
}

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(action, invalid) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Log in to Your Account</title>
<style>body{font-family:sans-serif;margin:2em auto;max-width:24em}input{width:100%;padding:.4em;box-sizing:border-box}label{display:block;margin-top:.8em}button{margin-top:1em}</style></head>
<body><h2>Log in to Your Account</h2><form method="post" action="${escapeHtml(action)}">
<label for="login">Email Address</label><input id="login" name="login" type="text" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
${invalid ? '<div id="login-error">Invalid Email Address and password.</div>' : ''}
<button id="submit-login" type="submit">Login</button></form></body></html>`;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
      if (body.length > 65536) req.destroy();
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/**
 * Starts the provider. `users`: [{ email, password, groups, name }]. Returns
 * { issuer, caPem, close() }.
 */
export async function startDemoProvider({ pkiDir, users }) {
  const { caPem, certPem, keyPem } = makeLoopbackPki(pkiDir);
  // oidc-provider prints notices (runtime version, in-memory adapter) on import and creation
  const warn = console.warn;
  console.warn = (...args) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
    warn(...args);
  };
  const { default: Provider } = await import('oidc-provider');
  const byEmail = new Map(users.map((u) => [u.email.toLowerCase(), u]));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `demo-${randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' };

  let provider;
  let callback;
  const server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
    handle(req, res).catch((error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`server error: ${error.message}\n`);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `https://127.0.0.1:${server.address().port}`;
  const issuer = `${origin}${MOUNT}`;

  async function handle(req, res) {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname !== MOUNT && !url.pathname.startsWith(`${MOUNT}/`)) {
      res.writeHead(404).end();
      return;
    }
    const interaction = /^\/dex\/interaction\/([^/]+)$/.exec(url.pathname);
    if (interaction) return handleInteraction(req, res);
    // Dex grants offline_access without asking; oidc-provider needs prompt=consent for it,
    // which the interaction below grants at once
    if (url.pathname === `${MOUNT}/auth` && (url.searchParams.get('scope') ?? '').split(' ').includes('offline_access')) {
      const prompts = new Set((url.searchParams.get('prompt') ?? '').split(' ').filter(Boolean));
      if (!prompts.has('none')) {
        prompts.add('consent');
        url.searchParams.set('prompt', [...prompts].join(' '));
      }
    }
    req.originalUrl = `${url.pathname}${url.search}`;
    req.url = req.originalUrl.slice(MOUNT.length) || '/';
    callback(req, res);
  }

  async function grantAll(accountId, params) {
    const grant = new provider.Grant({ accountId, clientId: String(params.client_id) });
    if (typeof params.scope === 'string') grant.addOIDCScope(params.scope);
    return grant.save();
  }

  async function handleInteraction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const action = `${MOUNT}/interaction/${details.uid}`;
    const send = (html) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    };
    if (req.method === 'GET') {
      const accountId = details.session?.accountId;
      if (details.prompt.name === 'consent' && accountId) {
        const grantId = await grantAll(accountId, details.params);
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
        return;
      }
      return send(loginPage(action, false));
    }
    const form = new URLSearchParams(await readBody(req));
    const user = byEmail.get((form.get('login') ?? '').trim().toLowerCase());
    if (!user || form.get('password') !== user.password) return send(loginPage(action, true));
    const grantId = await grantAll(user.email, details.params);
    await provider.interactionFinished(req, res, { login: { accountId: user.email }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'k8s-auth',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        redirect_uris: ['http://127.0.0.1/callback', 'http://[::1]/callback', 'http://localhost/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount: (_ctx, sub) => {
      const user = byEmail.get(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: () => ({ sub, email: user.email, email_verified: true, name: user.name, preferred_username: user.email.split('@')[0], groups: user.groups }) };
    },
    conformIdTokenClaims: false,
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'], groups: ['groups'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    routes: { authorization: '/auth', token: '/token', jwks: '/keys', userinfo: '/userinfo', revocation: '/token/revocation' },
    interactions: { url: (_ctx, interaction) => `${MOUNT}/interaction/${interaction.uid}` },
    rotateRefreshToken: () => true,
    ttl: { AccessToken: 3600, IdToken: 3600, AuthorizationCode: 60, RefreshToken: 86400, Interaction: 3600, Session: 86400, Grant: 86400 },
    features: { devInteractions: { enabled: false }, revocation: { enabled: true }, userinfo: { enabled: true } },
  });
  callback = provider.callback();
  console.warn = warn;

  return {
    issuer,
    caPem,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
