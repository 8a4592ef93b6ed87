// Dex's own web pages (its embedded templates), driven in Chromium as a person would: the
// connector choice ("Log in with LDAP" / "Log in with Email"), the password form (#login,
// #password, #submit-login, #login-error), the device page (#user_code) and its success page.
import type { Browser, Page } from 'playwright-core';
import { newPage, type ProviderCredentials } from '../../support/browser.js';

export type DexConnectorName = 'LDAP' | 'Email';

/** On a Dex page that may first ask which connector: picks one, then signs in on its form. */
export async function signInOnDex(page: Page, creds: ProviderCredentials, connector: DexConnectorName = 'LDAP', timeoutMs = 20_000): Promise<void> {
  const first = await page.waitForSelector('button.theme-btn-provider, input#login', { timeout: timeoutMs });
  if ((await first.evaluate((e) => e.tagName)) === 'BUTTON') {
    await Promise.all([
      page.waitForSelector('input#login', { timeout: timeoutMs }),
      page.getByRole('button', { name: `Log in with ${connector}` }).click({ timeout: timeoutMs }),
    ]);
  }
  await page.fill('input#login', creds.login);
  await page.fill('input#password', creds.password);
  await Promise.all([page.waitForEvent('framenavigated', { timeout: timeoutMs }).catch(() => undefined), page.click('#submit-login')]);
}

/** Signs in at an authorization URL and returns the text of the loopback callback page we land on. */
export async function signInAtAuthUrl(browser: Browser, url: string, creds: ProviderCredentials, connector: DexConnectorName = 'LDAP'): Promise<string> {
  const page = await newPage(browser);
  try {
    await page.goto(url);
    await signInOnDex(page, creds, connector);
    const landed = await Promise.race([
      page.waitForURL((u) => u.protocol === 'http:', { timeout: 30_000 }).then(() => 'callback'),
      page.waitForSelector('#login-error', { timeout: 30_000 }).then(() => 'login-error'),
    ]);
    if (landed === 'login-error') throw new Error(`Dex refused the login: ${(await page.textContent('#login-error'))?.trim() ?? ''}`);
    await page.waitForSelector('main h1', { timeout: 20_000 });
    return (await page.textContent('main')) ?? '';
  } finally {
    await page.context().close();
  }
}

/** Approves a device code on Dex's /device page: enters the code, signs in, reads the success page. */
export async function approveOnDex(browser: Browser, target: { verificationUri: string; userCode: string }, creds: ProviderCredentials, connector: DexConnectorName = 'LDAP'): Promise<string> {
  const page = await newPage(browser);
  try {
    await page.goto(target.verificationUri);
    await page.fill('input#user_code', target.userCode);
    await Promise.all([page.waitForEvent('framenavigated', { timeout: 20_000 }), page.click('#submit-login')]);
    await signInOnDex(page, creds, connector);
    await page.waitForSelector('h2.theme-heading:has-text("Login Successful")', { timeout: 30_000 });
    return (await page.textContent('body')) ?? '';
  } finally {
    await page.context().close();
  }
}
