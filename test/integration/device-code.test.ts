// Sign-in without a browser on this machine: the device code flow (RFC 8628), approved by a
// person (Chromium, headless) on "another device".
import { spawn } from 'node:child_process';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveDeviceCode, chromiumAvailable, launchChromium } from '../support/browser.js';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { cliEntry } from '../support/run-cli.js';
import { skipUnless } from '../support/skip.js';

describe.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium is not installed (/usr/bin/chromium)'))('credential: device code sign-in', () => {
  let fx: CredentialFixture;
  let browser: Browser;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await fx?.close();
  });

  it('auto picks the device code flow without a display; the code is approved in a browser elsewhere', async () => {
    fx.op.resetStats();
    // no DISPLAY, WAYLAND_DISPLAY or BROWSER (the fixture clears them): an SSH session
    const child = spawn(process.execPath, [cliEntry, ...fx.credentialArgs()], {
      env: fx.env({ KUBERNETES_EXEC_INFO: execInfo(true) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const prompt = new Promise<{ verificationUri: string; userCode: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no device prompt; stderr: ${stderr}`)), 20_000);
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        const m = /open (https:\/\/\S+) in a browser on any device and enter the code (\S+)/.exec(stderr);
        if (m?.[1] && m[2]) {
          clearTimeout(timer);
          resolve({ verificationUri: m[1], userCode: m[2] });
        }
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const target = await prompt;
    expect(target.verificationUri).toBe(`${fx.op.issuer}/device`);
    expect(stdout).toBe('');
    const page = await approveDeviceCode(browser, target, { login: 'ops@example.com', password: 'ops-password' });
    expect(page.length).toBeGreaterThan(0);
    expect(await exited, stderr).toBe(0);
    const out = JSON.parse(stdout) as { status: { token: string } };
    const claims = decodeClaims(out.status.token);
    expect(claims['email']).toBe('ops@example.com');
    expect(claims['groups']).toEqual(['admins', 'developers']);
    expect(stderr).toContain('Waiting for approval');
    expect(fx.op.stats.device_code).toBeGreaterThanOrEqual(1);
    expect(fx.op.stats.authorization_code).toBe(0);
    // cached: the next call is served without the provider
    fx.op.resetStats();
    const again = spawn(process.execPath, [cliEntry, ...fx.credentialArgs()], { env: fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }), stdio: ['ignore', 'pipe', 'pipe'] });
    let againOut = '';
    again.stdout.setEncoding('utf8').on('data', (d: string) => (againOut += d));
    expect(await new Promise((resolve) => again.on('close', resolve))).toBe(0);
    expect((JSON.parse(againOut) as { status: { token: string } }).status.token).toBe(out.status.token);
    expect(fx.op.stats.device_code + fx.op.stats.refresh_token).toBe(0);
  });
});
