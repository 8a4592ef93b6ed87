// The README's first command: `npm run demo` (here `node scripts/demo.js` after the build that
// `npm test` runs first) signs in for real on a machine without a desktop, and says what to
// install when nothing can show the sign-in page.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable } from '../support/browser.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { repoRoot, skipUnless } from '../support/skip.js';

function runDemo(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'demo.js')], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npm run demo', () => {
  let dir: TempDir;
  beforeAll(() => {
    dir = tempDir('k8s-auth-demo-');
  });
  afterAll(() => dir?.remove());

  const headlessEnv = (extra: Record<string, string | undefined> = {}) =>
    cleanEnv({ HOME: dir.path, K8S_AUTH_DEMO_DIR: dir.file('demo'), DISPLAY: undefined, WAYLAND_DISPLAY: undefined, BROWSER: undefined, KUBECONFIG: undefined, ...extra });

  it.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed', 'demo: headless sign-in'))(
    'signs jane in through headless Chromium without a desktop and writes a kubeconfig kubectl can refresh',
    async () => {
      // a file of the user's in the demo directory survives
      const own = dir.file('demo/notes.txt');
      mkdirSync(dir.file('demo'), { recursive: true });
      writeFileSync(own, 'mine\n');
      const run = await runDemo(headlessEnv());
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/Signed in to demo as jane@example\.com/);
      expect(run.stderr).toMatch(/Done: jane@example\.com signed in/);
      expect(run.stdout).toMatch(/email:\s+jane@example\.com/); // whoami's data goes to stdout
      const kubeconfigPath = dir.file('demo/kubeconfig');
      expect(statSync(kubeconfigPath).mode & 0o777).toBe(0o600);
      const kubeconfig = parse(readFileSync(kubeconfigPath, 'utf8')) as { 'current-context': string; users: Array<{ name: string; user: { 'auth-provider': { name: string; config: Record<string, string> } } }> };
      expect(kubeconfig['current-context']).toBe('demo');
      const user = kubeconfig.users[0];
      expect(user?.name).toBe('jane@example.com@demo');
      expect(user?.user['auth-provider'].name).toBe('oidc');
      expect(user?.user['auth-provider'].config['refresh-token']).toBeTruthy();
      expect(readFileSync(own, 'utf8')).toBe('mine\n');
    },
    90_000,
  );

  it('with no Chromium and no desktop it says what to install, exit 1', async () => {
    const run = await runDemo(headlessEnv({ K8S_AUTH_DEMO_CHROMIUM: dir.file('no-such-chromium'), K8S_AUTH_DEMO_DIR: dir.file('demo-none') }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Nothing can show the sign-in page here/);
    expect(run.stderr).toMatch(/apt-get install chromium/);
    expect(existsSync(dir.file('demo-none'))).toBe(false); // nothing started, nothing written
  });
});
