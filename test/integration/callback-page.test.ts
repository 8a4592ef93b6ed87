import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../../src/adapters/loopback-server.js';
import { planRedirect } from '../../src/core/oauth-callback.js';
import { type CallbackPage, renderCallbackPage } from '../../src/ui/callback-page.js';
import { chromiumAvailable, launchChromium } from '../support/browser.js';
import { skipUnless } from '../support/skip.js';

/*
 * The pages the browser shows after the provider redirects back, as a person sees them: served
 * by the real loopback listener (with its CSP and headers), rendered by Debian Chromium,
 * screenshotted to a PNG, and read back as text and roles.
 */
const shots = mkdtempSync(join(tmpdir(), 'k8s-auth-callback-page-'));
const injection = '<img src="http://127.0.0.2:9/beacon.png" alt="x">';

const pages: Record<string, CallbackPage> = {
  success: { kind: 'success', who: 'jane@example.com', clusters: ['prod', 'staging'] },
  error: { kind: 'error', title: 'Sign-in refused', detail: `The provider said: access_denied ${injection}` },
  notice: { kind: 'notice', title: 'Already signed in', detail: 'This tab belongs to an earlier sign-in.' },
};

interface Rendered {
  text: string;
  lang: string;
  title: string;
  requests: string[];
  shot: string;
  page: Page;
}

describe.skipIf(skipUnless(chromiumAvailable(), '/usr/bin/chromium is not installed'))('callback pages in Chromium', () => {
  let browser: Browser;
  let server: LoopbackServer;
  let current: CallbackPage = pages['success'] as CallbackPage;

  beforeAll(async () => {
    browser = await launchChromium();
    server = await startLoopbackServer(planRedirect({}), () => ({ status: 200, html: renderCallbackPage(current) }));
  });
  afterAll(async () => {
    server?.close();
    await browser?.close();
  });

  async function render(kind: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Rendered> {
    current = pages[kind] as CallbackPage;
    const context = await browser.newContext({ viewport: { width: 800, height: 500 }, colorScheme });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const response = await page.goto(`${server.redirectUri}?state=s&code=c`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'none'");
    const shot = join(shots, `${kind}-${colorScheme}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    return {
      text: await page.innerText('body'),
      lang: await page.evaluate(() => document.documentElement.lang),
      title: await page.title(),
      requests,
      shot,
      page,
    };
  }

  function expectPng(path: string): void {
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // width and height from the IHDR chunk: the viewport we asked for
    expect(bytes.readUInt32BE(16)).toBe(800);
    expect(bytes.readUInt32BE(20)).toBeGreaterThanOrEqual(500);
    expect(statSync(path).size).toBeGreaterThan(2_000);
  }

  it('success: says who is signed in, for which clusters, and what to do next', async () => {
    const r = await render('success');
    expect(r.lang).toBe('en');
    expect(r.title).toBe('Signed in - k8s-auth');
    expect(r.text).toContain('You are signed in');
    expect(r.text).toContain('Signed in as jane@example.com for prod, staging.');
    expect(r.text).toContain('You can close this tab and return to the terminal.');
    await expect(r.page.getByRole('heading', { level: 1, name: 'You are signed in' }).count()).resolves.toBe(1);
    await expect(r.page.getByRole('status').innerText()).resolves.toContain('jane@example.com');
    expect(r.requests).toEqual([`${server.redirectUri}?state=s&code=c`]);
    expectPng(r.shot);
    await r.page.context().close();
  });

  it('error: an alert with the reason, provider text shown as text and nothing fetched', async () => {
    const r = await render('error');
    expect(r.lang).toBe('en');
    expect(r.title).toBe('Sign-in refused - k8s-auth');
    expect(r.text).toContain('Sign-in refused');
    expect(r.text).toContain(`The provider said: access_denied ${injection}`);
    expect(r.text).toContain('the terminal says what to do next');
    await expect(r.page.getByRole('alert').innerText()).resolves.toContain('access_denied');
    await expect(r.page.locator('img').count()).resolves.toBe(0);
    // self-contained: the only request is the page itself (no fonts, styles, scripts or images)
    expect(r.requests).toEqual([`${server.redirectUri}?state=s&code=c`]);
    expectPng(r.shot);
    await r.page.context().close();
  });

  it('notice: a status, readable in dark mode too', async () => {
    const r = await render('notice', 'dark');
    expect(r.title).toBe('Already signed in - k8s-auth');
    expect(r.text).toContain('This tab belongs to an earlier sign-in.');
    await expect(r.page.getByRole('status').count()).resolves.toBe(1);
    const colors = await r.page.evaluate(() => {
      const style = getComputedStyle(document.body);
      return { fg: style.color, bg: style.backgroundColor };
    });
    // dark scheme: light text on a dark background (the page follows color-scheme)
    const luminance = (rgb: string) => {
      const [r0, g0, b0] = (rgb.match(/\d+/g) ?? []).map(Number);
      return 0.2126 * (r0 ?? 0) + 0.7152 * (g0 ?? 0) + 0.0722 * (b0 ?? 0);
    };
    expect(luminance(colors.fg)).toBeGreaterThan(luminance(colors.bg) + 100);
    expect(r.requests).toHaveLength(1);
    expectPng(r.shot);
    await r.page.context().close();
  });

  it('keeps text readable at a phone width (no horizontal scrolling)', async () => {
    current = pages['success'] as CallbackPage;
    const context = await browser.newContext({ viewport: { width: 360, height: 640 } });
    const page = await context.newPage();
    await page.goto(`${server.redirectUri}?state=s&code=c`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(shots, 'success-phone.png') });
    await context.close();
  });
});
