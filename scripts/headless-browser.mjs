#!/usr/bin/env node
// A scripted "person at a browser" for demos and tests, used as the CLI's --browser-command:
//   k8s-auth login --browser-command 'node scripts/headless-browser.mjs' ...
// The URL to open is the LAST argument. Credentials come from the environment only
// (K8S_AUTH_DEMO_LOGIN, K8S_AUTH_DEMO_PASSWORD), never from argv.
// It opens the URL in Debian's Chromium (headless, via playwright-core), fills the provider's
// login form (inputs name="login" / name="password"), submits, waits until the browser lands
// on a loopback callback page (http://127.0.0.1:*/ or http://[::1]:*/ or http://localhost:*/),
// prints that page's visible text to stderr and exits 0.
// Exit codes: 1 failure (one line on stderr), 2 usage, 3 chromium missing.
// Timeout: K8S_AUTH_DEMO_TIMEOUT_SECONDS (default 60).
// It never writes to stdout: fd 1 is pointed at /dev/null first, so a caller reading our
// stdout (an exec credential plugin's output, for one) is never held open or polluted.
import { closeSync, existsSync, openSync } from 'node:fs';

closeSync(1);
openSync('/dev/null', 'w'); // takes the lowest free descriptor: 1

// K8S_AUTH_DEMO_CHROMIUM overrides the path (tests use it to exercise the missing-browser exit).
const CHROMIUM = process.env.K8S_AUTH_DEMO_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

class Failure extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function fail(code, message) {
  throw new Failure(code, message);
}

function exitWith(code, message) {
  // the missing-browser line is printed exactly as documented, without the prefix
  process.stderr.write(code === 3 ? `${message}\n` : `headless-browser: ${message}\n`);
  process.exit(code);
}

/** Origin and path only: callback query strings carry authorization codes. */
function redact(url) {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

function isLoopbackCallback(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  } catch {
    return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  if (!existsSync(CHROMIUM)) fail(3, "chromium not found: install it with 'apt-get install chromium'");
  const target = process.argv.at(-1);
  if (process.argv.length < 3 || !/^https?:\/\//.test(target ?? '')) fail(2, 'usage: headless-browser.mjs [...] <http(s) URL as the last argument>');
  const login = process.env.K8S_AUTH_DEMO_LOGIN;
  const password = process.env.K8S_AUTH_DEMO_PASSWORD;
  if (!login || !password) fail(2, 'set K8S_AUTH_DEMO_LOGIN and K8S_AUTH_DEMO_PASSWORD in the environment');
  const timeoutSeconds = Number(process.env.K8S_AUTH_DEMO_TIMEOUT_SECONDS ?? '60');
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) fail(2, 'K8S_AUTH_DEMO_TIMEOUT_SECONDS must be a positive number');
  const deadline = Date.now() + timeoutSeconds * 1000;
  const timer = setTimeout(() => exitWith(1, `timed out after ${timeoutSeconds}s`), timeoutSeconds * 1000 + 5000);
  timer.unref();

  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  try {
    // Chromium does not know the test CAs; the CLI under test verifies TLS itself.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    let callbackFailure;
    page.on('requestfailed', (req) => {
      if (req.isNavigationRequest() && isLoopbackCallback(req.url())) {
        callbackFailure = `callback ${redact(req.url())} failed: ${req.failure()?.errorText ?? 'unknown error'}`;
      }
    });
    let callbackSeen = false;
    page.on('response', (res) => {
      if (res.request().isNavigationRequest() && isLoopbackCallback(res.url())) callbackSeen = true;
    });

    await page.goto(target, { timeout: Math.max(1000, deadline - Date.now()) }).catch((err) => {
      // a redirect straight to the callback (existing session) may abort the first navigation
      if (!callbackSeen && !isLoopbackCallback(page.url())) throw err;
    });

    let submissions = 0;
    while (Date.now() < deadline) {
      if (callbackFailure) fail(1, callbackFailure);
      if (callbackSeen || isLoopbackCallback(page.url())) {
        await page.waitForLoadState('load', { timeout: Math.max(1000, deadline - Date.now()) }).catch(() => undefined);
        const text = (await page.innerText('body').catch(() => '')).trim();
        process.stderr.write(`${text}\n`);
        return;
      }
      const state = await page
        .evaluate(() => ({
          hasLogin: Boolean(document.querySelector('input[name="login"]')),
          loginError: document.querySelector('#login-error')?.textContent?.trim() ?? '',
          title: document.title,
          text: (document.body?.innerText ?? '').trim().slice(0, 200),
        }))
        .catch(() => undefined); // navigating: look again
      if (state?.loginError) fail(1, `the provider rejected the login: ${state.loginError}`);
      if (state && /^(error|oops)/i.test(state.title)) fail(1, `the provider showed an error page: ${state.text.replace(/\s+/g, ' ')}`);
      if (state?.hasLogin) {
        if (submissions >= 2) fail(1, 'the provider keeps asking for the login');
        submissions += 1;
        await page.fill('input[name="login"]', login);
        await page.fill('input[name="password"]', password);
        await Promise.all([
          page.waitForEvent('framenavigated', { timeout: Math.max(1000, deadline - Date.now()) }).catch(() => undefined),
          page.click('button[type="submit"], input[type="submit"]'),
        ]);
        continue;
      }
      await sleep(150);
    }
    fail(1, `timed out after ${timeoutSeconds}s waiting for the loopback callback (last page ${redact(page.url())})`);
  } finally {
    await browser.close().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err) => exitWith(err instanceof Failure ? err.code : 1, String(err?.message ?? err).split('\n')[0]),
);
