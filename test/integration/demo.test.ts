// The README's first command: `npm run demo` (here `node scripts/demo.js` after the build that
// `npm test` runs first) signs in for real on a machine without a desktop, and says what to
// install when nothing can show the sign-in page. `--keep` runs a real kube-apiserver from the
// test peer cache when it is built (kubectl against .demo/kubeconfig works, Ctrl-C on a real pty
// stops every child) and just the provider when it is not.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../cluster/processes.js';
import { currentEtcd, currentKubectl, currentKubernetesAvailable, currentKubernetesMissing, kubernetesVersion } from '../peers/kubernetes/kubernetes.js';
import { peerCacheDir } from '../peers/process.js';
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

/** Text as a terminal shows it: no ANSI escapes, no carriage returns. */
function plain(text: string): string {
  return text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/** The pids of every process below `root` now (from /proc's parent links). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [root];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const pid of children.get(next) ?? []) {
      found.push(pid);
      queue.push(pid);
    }
  }
  return found;
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

  /** Each printed command, typed into a shell from the repo root with k8s-auth on PATH. */
  const shellWith = (env: NodeJS.ProcessEnv) => {
    const bin = dir.file('keep-bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'k8s-auth'), `#!/bin/sh\nexec '${process.execPath}' '${join(repoRoot, 'bin', 'k8s-auth.js')}' "$@"\n`);
    chmodSync(join(bin, 'k8s-auth'), 0o755);
    const shellEnv = { ...env, PATH: `${bin}:${env['PATH'] ?? ''}` };
    return (line: string) => spawnSync('sh', ['-c', line], { cwd: repoRoot, env: shellEnv, encoding: 'utf8', timeout: 60_000 });
  };
  /** The indented command lines the demo printed (ANSI and pty carriage returns removed). */
  const printedCommands = (text: string) =>
    plain(text)
      .split('\n')
      .filter((l) => /^ {2}([A-Z0-9_]+=\S+ )*(k8s-auth |\/\S*\/kubectl )/.test(l))
      .map((l) => l.trim());

  it.skipIf(
    skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed', 'demo --keep: headless sign-in') ||
      skipUnless(currentKubernetesAvailable(), currentKubernetesMissing(), 'demo --keep: the local API server') ||
      skipUnless(existsSync('/usr/bin/script'), '/usr/bin/script (util-linux) is missing: no pty for Ctrl-C', 'demo --keep: Ctrl-C on a terminal'),
  )(
    '--keep with the API server built: kubectl, whoami and doctor work against a real kube-apiserver; Ctrl-C on a pty stops every child, exit 0',
    async () => {
      const env = headlessEnv({ K8S_AUTH_DEMO_DIR: dir.file('demo-keep'), K8S_AUTH_TEST_CACHE: peerCacheDir(), K8S_AUTH_TEST_ETCD: currentEtcd() });
      // a real terminal: util-linux script(1) runs the demo on a pty; ^C written to it is Ctrl-C
      const command = `exec '${process.execPath}' '${join(repoRoot, 'scripts', 'demo.js')}' --keep`;
      const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let screen = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
      child.stderr.resume();
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      const killer = setTimeout(() => child.kill('SIGKILL'), 100_000);
      const started = Date.now();
      let pids: number[] = [];
      try {
        while (!screen.includes('Press Ctrl-C') && Date.now() - started < 90_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
        const text = plain(screen);
        expect(text, text).toMatch(/Press Ctrl-C to stop the provider and the API server\./);
        const readyMs = Date.now() - started;
        const api = /and kube-apiserver v\d+\.\d+\.\d+ at (https:\/\/127\.0\.0\.1:\d+) \(pids: etcd (\d+), kube-apiserver (\d+)\)/.exec(text);
        expect(api, text).not.toBeNull();
        // every process below the pty's shell: etcd, kube-apiserver, the watchdog
        pids = descendants(child.pid as number);
        const etcdPid = Number(api?.[2]);
        const apiserverPid = Number(api?.[3]);
        expect(pids).toEqual(expect.arrayContaining([etcdPid, apiserverPid]));
        expect(readFileSync(`/proc/${apiserverPid}/cmdline`, 'utf8')).toContain(join(peerCacheDir(), `kubernetes-${kubernetesVersion}`, 'bin', 'kube-apiserver'));
        const tempDirOfApiServer = /--data-dir\0([^\0]+)\/etcd\0/.exec(readFileSync(`/proc/${etcdPid}/cmdline`, 'utf8'))?.[1];
        expect(tempDirOfApiServer).toBeDefined();

        const commands = printedCommands(screen);
        expect(commands, text).toHaveLength(3);
        const [kubectl, whoami, doctor] = commands as [string, string, string];
        // the test cache's kubectl, never the machine's
        expect(kubectl.startsWith(`${currentKubectl} --kubeconfig `), kubectl).toBe(true);
        expect(kubectl).toMatch(/ get namespaces$/);
        const type = shellWith(env);
        const listed = type(kubectl);
        expect(listed.status, listed.stderr).toBe(0);
        expect(listed.stdout).toMatch(/^demo\s+Active/m);
        expect(listed.stdout).toMatch(/^kube-system\s+Active/m);
        expect(whoami).toMatch(/^k8s-auth whoami --kubeconfig /);
        const who = type(whoami);
        expect(who.status, who.stderr).toBe(0);
        expect(who.stdout).toMatch(/email:\s+jane@example\.com/);
        expect(who.stdout).toContain(api?.[1]);
        expect(doctor).toMatch(/^k8s-auth doctor demo --catalog /);
        const checked = type(doctor);
        expect(checked.status, checked.stdout + checked.stderr).toBe(0);
        expect(checked.stdout).toMatch(/api-server +API server https:\/\/127\.0\.0\.1:\d+ knows you as jane@example\.com \(groups: developers, demo/);

        child.stdin.write('\x03');
        const code = await exited;
        expect(code, plain(screen)).toBe(0);
        expect(plain(screen)).toMatch(/SIGINT: stopping the provider, kube-apiserver and etcd\./);
        expect(pids.filter(pidAlive), 'children still running after the demo exited').toEqual([]);
        expect(existsSync(tempDirOfApiServer as string), 'the API server temp dir was left behind').toBe(false);
        expect(readyMs, 'from start to the printed commands').toBeLessThan(60_000);
      } finally {
        clearTimeout(killer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        for (const pid of pids.filter(pidAlive)) process.kill(pid, 'SIGKILL');
      }
    },
    120_000,
  );

  it.skipIf(skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed', 'demo --keep: headless sign-in'))(
    '--keep without the API server built keeps just the provider, says so in one line, its three commands work, SIGTERM stops it with exit 0',
    async () => {
      const env = headlessEnv({ K8S_AUTH_DEMO_DIR: dir.file('demo-keep-bare'), K8S_AUTH_TEST_CACHE: dir.file('no-cache') });
      const child = spawn(process.execPath, [join(repoRoot, 'scripts', 'demo.js'), '--keep'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stdout.resume();
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      const killer = setTimeout(() => child.kill('SIGKILL'), 100_000);
      try {
        const deadline = Date.now() + 90_000;
        while (!stderr.includes('Press Ctrl-C') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
        expect(stderr, stderr).toMatch(/Press Ctrl-C to stop the provider\.\n/);
        const missing = stderr.split('\n').filter((l) => l.startsWith('No API server is available'));
        expect(missing, stderr).toHaveLength(1);
        expect(missing[0]).toContain(join(dir.file('no-cache'), `kubernetes-${kubernetesVersion}`, 'bin', 'kube-apiserver'));
        expect(missing[0]).toContain('test/peers/kubernetes/install.sh');
        expect(stderr).not.toMatch(/kubectl (--kubeconfig|get)/);
        const issuer = /keeps running at (https:\/\/127\.0\.0\.1:(\d+)\/dex)\./.exec(stderr);
        expect(issuer, stderr).not.toBeNull();
        const port = Number(issuer?.[2]);
        const commands = printedCommands(stderr);
        expect(commands).toHaveLength(3);

        const type = shellWith(env);
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

        child.kill('SIGTERM');
        const end = await exited;
        expect(end, stderr).toEqual({ code: 0, signal: null });
        expect(stderr).toMatch(/SIGTERM: stopping the provider\.\n/);
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

  it('--help prints the usage docs/usage.md shows under "## npm run demo", exit 0', () => {
    const help = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'demo.js'), '--help'], { cwd: repoRoot, env: headlessEnv({ K8S_AUTH_DEMO_DIR: dir.file('demo-help') }), encoding: 'utf8' });
    expect(help.status).toBe(0);
    const usage = help.stderr.trim();
    expect(usage).toMatch(/^usage: npm run demo \[-- --keep\] .*--keep: leave the provider, and a local API server when built, running until Ctrl-C/);
    const section = readFileSync(join(repoRoot, 'docs', 'usage.md'), 'utf8').split(/^## /m).find((part) => part.startsWith('npm run demo\n'));
    expect(section, 'docs/usage.md has no "## npm run demo" section').toBeDefined();
    expect(section).toContain(`\`\`\`\n${usage}\n\`\`\``);
    expect(existsSync(dir.file('demo-help'))).toBe(false);
  });

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
