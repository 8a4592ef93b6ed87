// Keycloak's own pages (login theme keycloak.v2, as Keycloak 26 ships it) driven in real Chromium
// as a person would: the sign-in form (#username, #password, #kc-login), the device-code page
// (#device_user_code), the consent screen when one is shown, and the pages a flow ends on.
import type { Browser, Page } from 'playwright-core';
import { newPage, type ProviderCredentials } from '../../support/browser.js';

/** Fills Keycloak's sign-in form and submits it (login may be the username or the email). */
export async function signInOnKeycloakPage(page: Page, creds: ProviderCredentials, timeoutMs = 30_000): Promise<void> {
  await page.waitForSelector('#kc-form-login #username', { timeout: timeoutMs });
  await page.fill('#username', creds.login);
  await page.fill('#password', creds.password);
  await Promise.all([page.waitForEvent('framenavigated', { timeout: timeoutMs }).catch(() => undefined), page.click('#kc-login')]);
}

/** The error Keycloak shows on its sign-in form (wrong password), or undefined. */
export async function keycloakFormError(page: Page): Promise<string | undefined> {
  const el = await page.$('#input-error, .pf-v5-c-alert, #input-error-username');
  return el ? ((await el.textContent()) ?? '').trim() : undefined;
}

/**
 * Opens the sign-in URL, signs in on Keycloak's page, follows the redirect to the loopback
 * listener and returns the text of the page the CLI served there (k8s-auth's callback page).
 */
export async function signInThroughKeycloak(browser: Browser, url: string, creds: ProviderCredentials, timeoutMs = 60_000): Promise<{ text: string; callbackUrl: string }> {
  const page = await newPage(browser);
  try {
    let callbackUrl = '';
    page.on('request', (request) => {
      const u = new URL(request.url());
      if (u.protocol === 'http:' && callbackUrl === '') callbackUrl = request.url();
    });
    await page.goto(url, { timeout: timeoutMs });
    await signInOnKeycloakPage(page, creds, timeoutMs);
    await page.waitForURL((u) => u.protocol === 'http:', { timeout: timeoutMs });
    await page.waitForSelector('main h1', { timeout: timeoutMs });
    return { text: (await page.textContent('main')) ?? '', callbackUrl };
  } finally {
    await page.context().close();
  }
}

/**
 * Approves a device code on Keycloak's pages: the verification page (user code typed in when
 * the URL does not carry it), the sign-in form, the consent screen if Keycloak shows one, and
 * the success page. Returns the success page's text; throws on any other ending.
 */
export async function approveKeycloakDevice(
  browser: Browser,
  target: { verificationUri: string; userCode: string } | string,
  creds: ProviderCredentials,
  timeoutMs = 60_000,
): Promise<{ text: string; steps: string[] }> {
  const page = await newPage(browser);
  const deadline = Date.now() + timeoutMs;
  const steps: string[] = [];
  try {
    await page.goto(typeof target === 'string' ? target : target.verificationUri, { timeout: timeoutMs });
    for (let step = 0; step < 8; step += 1) {
      const left = Math.max(1, deadline - Date.now());
      await page.waitForLoadState('load', { timeout: left }).catch(() => undefined);
      const body = (await page.textContent('body')) ?? '';
      if (/Device Login Successful/i.test(body)) {
        steps.push('success');
        return { text: body.replace(/\s+/g, ' ').trim(), steps };
      }
      if (await page.$('#device_user_code')) {
        if (typeof target === 'string' || steps.includes('user-code')) throw new Error(`Keycloak asks for the user code again: ${body.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
        steps.push('user-code');
        await page.fill('#device_user_code', target.userCode);
        await Promise.all([page.waitForEvent('framenavigated', { timeout: left }), page.click('#kc-login')]);
      } else if (await page.$('#kc-form-login #username')) {
        if (steps.includes('login')) throw new Error(`Keycloak refused the sign-in: ${body.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
        steps.push('login');
        await signInOnKeycloakPage(page, creds, left);
      } else if (await page.$('input[name="accept"], button[name="accept"]')) {
        steps.push('consent');
        await Promise.all([page.waitForEvent('framenavigated', { timeout: left }), page.click('input[name="accept"], button[name="accept"]')]);
      } else {
        throw new Error(`device approval ended on an unexpected page (${page.url()}): ${body.replace(/\s+/g, ' ').trim().slice(0, 300)}`);
      }
    }
    throw new Error(`device approval did not reach the success page (last URL ${page.url()})`);
  } finally {
    await page.context().close();
  }
}
