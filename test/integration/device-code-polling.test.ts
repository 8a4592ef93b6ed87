// The device code flow's polling rules (RFC 8628 §3.4–3.5) against a provider that uses them:
// oidc-provider never answers slow_down itself, so a provider front (real signing key, scripted
// token endpoint) says slow_down, authorization_pending, access_denied or expired_token, and
// records when each poll arrived. The approval by a person in Chromium is in device-code.test.ts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startIdTokenFront, type IdTokenFront, type TokenAnswer } from '../support/id-token-front.js';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { expectOneLineError, spawnCli } from '../support/reliability-harness.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const DEVICE_CODE = 'dc-polling-test-device-code';
const USER_CODE = 'WDJB-MJHT';

let provider: TestProvider;
let front: IdTokenFront;
let dir: TempDir;
let deviceRequestedAt = 0;
const f = (name: string): string => dir.file(name);

const pollError = (error: string): TokenAnswer => ({ status: 400, body: { error, error_description: `${error} (scripted)` } });

/** Answers the polls in order; the last answer repeats. */
function scriptPolls(...answers: Array<TokenAnswer | 'tokens'>): void {
  let n = 0;
  front.answer = async () => {
    const next = answers[Math.min(n++, answers.length - 1)];
    if (next === 'tokens') return { status: 200, body: front.tokens(await front.mint({ email: 'jane@example.com', groups: ['developers'] })) };
    return next ?? pollError('server_error');
  };
}

/** The device prompt is shown even with -q (the person needs it); the rest is the error. */
const withoutPrompt = (stderr: string): string =>
  stderr
    .split('\n')
    .filter((line) => !/^(To sign in, open |Waiting for approval)/.test(line))
    .join('\n');

const login = (kubeconfig: string) => ['login', 'prod', '--catalog', f('catalog.yaml'), '--kubeconfig', kubeconfig, '--grant', 'device-code', '--timeout', '60'];

beforeAll(async () => {
  provider = await startTestProvider();
  front = await startIdTokenFront(provider);
  dir = tempDir('k8s-auth-device-polling-');
  writeCatalog(f('catalog.yaml'), {
    prod: { server: 'https://127.0.0.1:6443', 'issuer-url': front.issuer, 'client-id': front.clientId, 'idp-certificate-authority-data': base64(front.caPem) },
  });
  front.metadata = {
    device_authorization_endpoint: `${front.issuer}/device/code`,
    grant_types_supported: ['authorization_code', 'refresh_token', DEVICE_GRANT],
  };
  front.deviceAnswer = () => {
    deviceRequestedAt = performance.now();
    return {
      status: 200,
      body: { device_code: DEVICE_CODE, user_code: USER_CODE, verification_uri: `${front.issuer}/device`, expires_in: 120, interval: 1 },
    };
  };
});

afterAll(async () => {
  await front?.close();
  await provider?.close();
  dir?.remove();
});

beforeEach(() => {
  front.tokenRequests.length = 0;
});

describe('device code polling', () => {
  it('waits the interval, adds 5 s after slow_down and keeps it, keeps polling while pending, then signs in', async () => {
    scriptPolls(pollError('slow_down'), pollError('authorization_pending'), 'tokens');
    const run = await spawnCli(login(f('kc-slow.yaml')), cleanEnv({ HOME: f('home') }), 60_000).exited;
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`enter the code ${USER_CODE}`);
    expect(run.stderr).toContain(`${front.issuer}/device`);

    const polls = front.tokenRequests;
    expect(polls).toHaveLength(3);
    for (const poll of polls) {
      expect(poll.form.get('grant_type')).toBe(DEVICE_GRANT);
      expect(poll.form.get('device_code')).toBe(DEVICE_CODE);
    }
    const [first, second, third] = polls.map((p) => p.at) as [number, number, number];
    // the provider's interval (1 s) before the first poll; 1 + 5 s after slow_down, and still
    // 6 s after authorization_pending (RFC 8628 §3.5: the increase applies to all later polls)
    expect(first - deviceRequestedAt).toBeGreaterThanOrEqual(950);
    expect(first - deviceRequestedAt).toBeLessThan(3_000);
    expect(second - first).toBeGreaterThanOrEqual(5_950);
    expect(second - first).toBeLessThan(8_500);
    expect(third - second).toBeGreaterThanOrEqual(5_950);
    expect(third - second).toBeLessThan(8_500);

    const kubeconfig = parse(readFileSync(f('kc-slow.yaml'), 'utf8')) as { users: Array<{ name: string }> };
    expect(kubeconfig.users.map((u) => u.name)).toEqual(['jane@example.com@prod']);
  }, 40_000);

  it('access_denied while polling: exit 7 (login denied), one line, no kubeconfig written', async () => {
    scriptPolls(pollError('authorization_pending'), pollError('access_denied'));
    const run = await spawnCli([...login(f('kc-denied.yaml')), '-q'], cleanEnv({ HOME: f('home') }), 30_000).exited;
    expect(run.code, run.stderr).toBe(7);
    expect(run.stderr).toContain(`enter the code ${USER_CODE}`);
    expectOneLineError(withoutPrompt(run.stderr), { message: /denied at the identity provider \(access_denied/ });
    expect(front.tokenRequests).toHaveLength(2);
    expect(() => readFileSync(f('kc-denied.yaml'))).toThrow(/ENOENT/);
  }, 30_000);

  it('expired_token while polling: exit 6 (sign-in timed out), saying the provider expired it and to run it again', async () => {
    scriptPolls(pollError('expired_token'));
    const run = await spawnCli([...login(f('kc-expired.yaml')), '-q'], cleanEnv({ HOME: f('home') }), 30_000).exited;
    expect(run.code, run.stderr).toBe(6);
    expectOneLineError(withoutPrompt(run.stderr), {
      message: /the device code expired at the identity provider before it was approved \(expired_token/,
      hint: /run the command again/,
    });
    expect(front.tokenRequests).toHaveLength(1);
    expect(() => readFileSync(f('kc-expired.yaml'))).toThrow(/ENOENT/);
  }, 30_000);
});
