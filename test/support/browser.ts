// Debian Chromium driven by playwright-core (never a downloaded browser build).
// launchChromium() uses chromium.launch(): Playwright gives every launch its own fresh temp
// profile (user-data-dir) and removes it on close, so no launchPersistentContext is needed.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

/** The flags every Chromium launch in this project uses (headless, sandbox-less, quiet). */
export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath);
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs, timeout: 30_000 });
}

/**
 * A page in a fresh context. Chromium does not trust the throwaway test CAs, so the context
 * ignores certificate errors; the clients under test verify TLS themselves.
 */
export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  return context.newPage();
}

export interface ProviderCredentials {
  login: string;
  password: string;
}

/** Fills the Dex-like login form (name="login", name="password") and submits it. */
export async function signInOnProviderPage(page: Page, creds: ProviderCredentials, timeoutMs = 15_000): Promise<void> {
  await page.waitForSelector('input[name="login"]', { timeout: timeoutMs });
  await page.fill('input[name="login"]', creds.login);
  await page.fill('input[name="password"]', creds.password);
  await Promise.all([
    page.waitForEvent('framenavigated', { timeout: timeoutMs }).catch(() => undefined),
    page.click('button[type="submit"]'),
  ]);
}

export type DeviceTarget = string | { verificationUri: string; userCode: string };

/**
 * Approves a device-flow code the way a person would: opens the verification page, enters
 * the user code when asked, confirms, signs in, and waits for the success page.
 * Resolves with the final page text; throws if the flow does not end on success.
 */
export async function approveDeviceCode(
  browser: Browser,
  target: DeviceTarget,
  creds: ProviderCredentials,
  timeoutMs = 30_000,
): Promise<string> {
  const page = await newPage(browser);
  const deadline = Date.now() + timeoutMs;
  const url = typeof target === 'string' ? target : target.verificationUri;
  const userCode = typeof target === 'string' ? undefined : target.userCode;
  try {
    await page.goto(url, { timeout: timeoutMs });
    let codeEntered = false;
    for (let step = 0; step < 8; step += 1) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      const which = await page
        .waitForSelector('#device-success, #login-error, input[name="login"], #confirm-device, input[name="user_code"]:not([type="hidden"]), #device-error', {
          timeout: left,
        })
        .then((el) => el.evaluate((e) => e.id || e.getAttribute('name') || ''));
      if (which === 'device-success') return (await page.textContent('body')) ?? '';
      if (which === 'login-error') throw new Error('provider rejected the login/password');
      if (which === 'device-error') throw new Error(`provider rejected the user code: ${(await page.textContent('#device-error')) ?? ''}`);
      if (which === 'login') await signInOnProviderPage(page, creds, left);
      else if (which === 'confirm-device') {
        await Promise.all([page.waitForEvent('framenavigated', { timeout: left }), page.click('#confirm-device')]);
      } else if (which === 'user_code') {
        if (!userCode || codeEntered) throw new Error('verification page asks for a user code and none (or a wrong one) was given');
        codeEntered = true;
        await page.fill('input[name="user_code"]', userCode);
        await Promise.all([page.waitForEvent('framenavigated', { timeout: left }), page.click('#submit-user-code')]);
      }
      await page.waitForLoadState('load', { timeout: Math.max(1, deadline - Date.now()) }).catch(() => undefined);
    }
    throw new Error(`device approval did not reach the success page (last URL ${page.url()})`);
  } finally {
    await page.context().close();
  }
}
