// Completes the test provider's browser sign-in over plain HTTP, no browser: GET the
// authorization URL, follow redirects (keeping the provider's cookies) to its login form, POST
// login and password, and follow redirects until one points at the loopback callback. That
// callback URL is returned WITHOUT being requested, so the caller can time the request itself.
import { Agent, fetch } from 'undici';

export interface SignInCredentials {
  login: string;
  password: string;
  /** bound on requests (default 12) */
  maxSteps?: number;
  /** per request (default 10 s) */
  timeoutMs?: number;
}

export interface HttpSignIn {
  /** The loopback callback URL (with code and state) the provider redirected to. */
  signIn(authorizationUrl: string, options: SignInCredentials): Promise<URL>;
  close(): Promise<void>;
}

export function isLoopbackCallback(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

/** The login form's action (the provider escapes it as &#NN; entities), or undefined. */
export function loginFormAction(html: string): string | undefined {
  if (!/<input[^>]*name="login"/.test(html)) return undefined;
  const match = /<form[^>]*action="([^"]*)"/.exec(html);
  return match?.[1]?.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))).replace(/&amp;/g, '&');
}

/** A cookie jar for one origin: enough for oidc-provider's interaction and session cookies. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookies: readonly string[]): void {
    for (const line of setCookies) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((a) => {
        const [k = '', v = ''] = a.trim().split('=');
        if (k.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k.toLowerCase() === 'expires') return Date.parse(v) <= Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** `caPem`: the provider's CA; nothing else is trusted. */
export function createHttpSignIn(caPem: string): HttpSignIn {
  const dispatcher = new Agent({ connect: { ca: caPem } });
  return {
    async signIn(authorizationUrl, options) {
      const jar = new CookieJar();
      const maxSteps = options.maxSteps ?? 12;
      const timeoutMs = options.timeoutMs ?? 10_000;
      let url = new URL(authorizationUrl);
      let method: 'GET' | 'POST' = 'GET';
      let body: string | undefined;
      let submitted = false;
      for (let step = 0; step < maxSteps; step++) {
        const headers: Record<string, string> = { accept: 'text/html' };
        const cookie = jar.header();
        if (cookie) headers.cookie = cookie;
        if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
        const res = await fetch(url, { method, headers, body, redirect: 'manual', dispatcher, signal: AbortSignal.timeout(timeoutMs) });
        jar.store(res.headers.getSetCookie());
        const text = await res.text();
        method = 'GET';
        body = undefined;
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          const next = new URL(location, url);
          if (isLoopbackCallback(next)) return next;
          url = next;
          continue;
        }
        const action = res.status === 200 ? loginFormAction(text) : undefined;
        if (action !== undefined) {
          if (submitted) throw new Error(`the provider asked for the login again (${/id="login-error"/.test(text) ? 'wrong login or password' : 'unknown reason'})`);
          submitted = true;
          url = new URL(action, url);
          method = 'POST';
          body = new URLSearchParams({ login: options.login, password: options.password }).toString();
          continue;
        }
        throw new Error(`unexpected HTTP ${res.status} from ${url.origin}${url.pathname} during the sign-in: ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
      }
      throw new Error(`no redirect to a loopback callback within ${maxSteps} requests`);
    },
    close: () => dispatcher.close(),
  };
}
