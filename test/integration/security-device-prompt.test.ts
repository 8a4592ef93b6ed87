// The device-code prompt prints what the provider sent: `user_code`, `verification_uri` and
// `verification_uri_complete`. A hostile (or compromised) provider can put terminal escape
// sequences there (clear the screen, set the window title, rewrite the line to show another
// URL). The built CLI, against a real loopback provider that answers so, must print none of
// them: control characters become spaces, as on every error path (sanitizeProviderText).
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { showDevicePrompt } from '../../src/usecases/sign-in.js';
import { discoveryFor, startHostilePeer, type HostilePeer } from '../support/hostile-peer.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { spawnCli } from '../support/reliability-harness.js';

const CLEAR_SCREEN = '\u001b[2J\u001b[H';
const SET_TITLE = '\u001b]0;pwned\u0007';
const C1_CSI = '\u009b31m';
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

let peer: HostilePeer;
let dir: TempDir;

beforeAll(async () => {
  peer = await startHostilePeer();
  dir = tempDir('k8s-auth-device-prompt-');
  const issuer = `${peer.origin}/dex`;
  peer.routes.set('/dex/.well-known/openid-configuration', { kind: 'json', body: discoveryFor(issuer) });
  peer.routes.set('/dex/device/code', {
    kind: 'json',
    body: {
      device_code: 'device-code-1',
      user_code: `${CLEAR_SCREEN}${SET_TITLE}WDJB-MJHT`,
      verification_uri: `https://idp.example/device${C1_CSI}\r\u001b[2KOPEN https://evil.example/`,
      verification_uri_complete: `https://idp.example/device?user_code=WDJB-MJHT${SET_TITLE}`,
      expires_in: 600,
      interval: 1,
    },
  });
  // the person denies it: the login ends at once, exit 7
  peer.routes.set('/dex/token', { kind: 'json', status: 400, body: { error: 'access_denied', error_description: `denied${SET_TITLE}` } });
  writeFileSync(dir.file('clusters.yaml'), ['clusters:', '  prod:', '    server: https://127.0.0.1:6443', `    issuer-url: ${issuer}`, '    client-id: k8s-auth', ''].join('\n'));
});

afterAll(async () => {
  await peer?.close();
  dir?.remove();
});

describe('the device-code prompt', () => {
  it('prints no control character the provider sent (built CLI, real loopback provider)', async () => {
    const run = await spawnCli(
      ['login', 'prod', '--catalog', dir.file('clusters.yaml'), '--kubeconfig', dir.file('kubeconfig'), '--grant', 'device-code', '--timeout', '20'],
      cleanEnv({ HOME: dir.file('home') }),
      30_000,
    ).exited;
    expect(run.code, run.stderr).toBe(7);
    // the prompt was shown, with the code and the URL, and without a single escape
    expect(run.stderr).toContain('WDJB-MJHT');
    expect(run.stderr).toContain('https://idp.example/device');
    expect(run.stderr).not.toMatch(CONTROL);
    expect(run.stdout).not.toMatch(CONTROL);
    expect(peer.hits.get('/dex/device/code')).toBe(1);
  });

  it('showDevicePrompt keeps the text readable and drops escapes, CR included', () => {
    let out = '';
    showDevicePrompt(
      { userCode: `${CLEAR_SCREEN}ABCD-EFGH`, verificationUri: `https://idp.example/device\r${SET_TITLE}`, verificationUriComplete: `https://idp.example/d?c=1${C1_CSI}`, expiresInSeconds: 300 },
      (t) => (out += t),
    );
    expect(out).not.toMatch(CONTROL);
    expect(out).toContain('ABCD-EFGH');
    expect(out).toContain('https://idp.example/device');
    expect(out).toContain('https://idp.example/d?c=1');
    expect(out.split('\n').filter((l) => l !== '')).toHaveLength(3);
  });
});
