// The README's first command: `npm run demo` (here `node scripts/demo.js` after the build that
// `npm test` runs first) signs in for real on a machine without a desktop, and says what to
// install when nothing can show the sign-in page.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
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

  it.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed', 'demo --keep: headless sign-in'))(
    '--keep leaves the provider running, prints three commands that work against it, and stops on SIGINT with exit 0',
    async () => {
      const env = headlessEnv({ K8S_AUTH_DEMO_DIR: dir.file('demo-keep') });
      const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'demo.js'), '--keep'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.resume();
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      const killer = setTimeout(() => child.kill('SIGKILL'), 100_000);
      try {
        const deadline = Date.now() + 90_000;
        while (!stderr.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
        expect(stderr, stderr).toMatch(/Press Ctrl-C to stop the provider/);
        expect(stderr).toMatch(/No API server runs in the demo/);
        expect(stderr).not.toMatch(/kubectl get/);
        const issuer = /keeps running at (https:\/\/127\.0\.0\.1:(\d+)\/dex)/.exec(stderr);
        expect(issuer, stderr).not.toBeNull();
        const port = Number(issuer?.[2]);
        const commands = stderr.split('\n').filter((l) => /^ {2}([A-Z0-9_]+=\S+ )*k8s-auth /.test(l)).map((l) => l.trim());
        expect(commands).toHaveLength(3);

        // each printed command, typed into a shell with k8s-auth on PATH, from the demo's directory
        const bin = dir.file('keep-bin');
        mkdirSync(bin, { recursive: true });
        writeFileSync(join(bin, 'k8s-auth'), `#!/bin/sh\nexec '${process.execPath}' '${join(repoRoot, 'bin', 'k8s-auth.js')}' "$@"\n`);
        chmodSync(join(bin, 'k8s-auth'), 0o755);
        const shellEnv = { ...env, PATH: `${bin}:${env['PATH'] ?? ''}` };
        const type = (line: string) => spawnSync('sh', ['-c', line], { cwd: repoRoot, env: shellEnv, encoding: 'utf8', timeout: 60_000 });
        const [whoami, logout, login] = commands as [string, string, string];
        expect(whoami).toMatch(/^k8s-auth whoami --kubeconfig /);
        const who = type(whoami);
        expect(who.status, who.stderr).toBe(0);
        expect(who.stdout).toMatch(/email:\s+jane@example\.com/);
        expect(logout).toMatch(/^k8s-auth logout demo /);
        const out = type(logout);
        expect(out.status, out.stderr).toBe(0);
        expect(out.stderr).toMatch(/refresh token revoked at the provider/);
        expect(type(whoami).status).not.toBe(0); // logged out now
        expect(login).toMatch(/k8s-auth login demo --catalog /);
        const again = type(login);
        expect(again.status, again.stderr).toBe(0);
        expect(again.stderr).toMatch(/Signed in to demo as jane@example\.com/);
        expect(type(whoami).status).toBe(0);

        child.kill('SIGINT');
        const end = await exited;
        expect(end, stderr).toEqual({ code: 0, signal: null });
        expect(stderr).toMatch(/SIGINT: stopping the provider/);
        const refused = await new Promise<boolean>((resolve) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', () => (socket.destroy(), resolve(false)));
          socket.once('error', () => resolve(true));
        });
        expect(refused, `port ${port} still accepts connections`).toBe(true);
      } finally {
        clearTimeout(killer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
    120_000,
  );

  it('rejects an unknown argument with the usage, exit 2', async () => {
    const child = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'demo.js'), '--kep'], { cwd: repoRoot, env: headlessEnv({ K8S_AUTH_DEMO_DIR: dir.file('demo-bad') }), encoding: 'utf8' });
    expect(child.status).toBe(2);
    expect(child.stderr).toMatch(/unknown argument '--kep': usage: npm run demo \[-- --keep\]/);
    expect(existsSync(dir.file('demo-bad'))).toBe(false);
  });

  it('with no Chromium and no desktop it says what to install, exit 1', async () => {
    const run = await runDemo(headlessEnv({ K8S_AUTH_DEMO_CHROMIUM: dir.file('no-such-chromium'), K8S_AUTH_DEMO_DIR: dir.file('demo-none') }));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Nothing can show the sign-in page here/);
    expect(run.stderr).toMatch(/apt-get install chromium/);
    expect(existsSync(dir.file('demo-none'))).toBe(false); // nothing started, nothing written
  });
});
