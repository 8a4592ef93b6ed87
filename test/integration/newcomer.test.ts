// Issue 17 as a newcomer meets it, through the built CLI: an install that works from a clone (the
// package tarball and `npm install -g .` into a throwaway prefix, then the installed commands run),
// `k8s-auth version` / `--version` / `-v` with `-o json`, did-you-mean on the one error line and
// `help <typo>` as an error, a bad K8S_AUTH_TIMEOUT named as the variable, and `--no-browser` naming
// `--listen-port` and printing the exact `ssh -L` line for the port that is really listening.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXEC_API_V1, EXEC_API_V1BETA1 } from '../../src/core/exec-credential.js';
import { ExitCode } from '../../src/errors.js';
import { base64, startCli, tempDir, writeCatalog, type TempDir } from '../support/login-harness.js';
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { expectOneLineError } from '../support/reliability-harness.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { freeLoopbackPort } from '../peers/process.js';
import { repoRoot } from '../support/skip.js';

const execFileAsync = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string; scripts: Record<string, string> };

interface VersionJson {
  version: string;
  node: string;
  execCredentialApiVersions: string[];
}

describe('install from a clone (npm pack + npm install -g, npm install -g .)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'k8s-auth-install-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the packed tarball installs globally and both commands run: k8s-auth and kubectl-k8s_auth', async () => {
    // --ignore-scripts on pack only: `prepare` would rebuild dist/ in this shared tree (a user's
    // `npm pack` builds it, which is what the tarball then carries)
    const packed = await execFileAsync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], { cwd: repoRoot, timeout: 120_000 });
    const tarball = join(dir, packed.stdout.trim().split('\n').pop() ?? '');
    expect(tarball).toMatch(new RegExp(`k8s-auth-${pkg.version.replace(/\./g, '\\.')}\\.tgz$`));
    const prefix = join(dir, 'global');
    await execFileAsync('npm', ['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 300_000 });
    const env = cleanEnv({ HOME: dir, PATH: `${join(prefix, 'bin')}:${process.env['PATH'] ?? ''}` });
    const installed = await execFileAsync('k8s-auth', ['version', '-o', 'json'], { env, cwd: dir });
    expect(JSON.parse(installed.stdout)).toEqual({ version: pkg.version, node: process.version, execCredentialApiVersions: [EXEC_API_V1, EXEC_API_V1BETA1] });
    // the copy is its own: it runs from the prefix, not from this clone
    const real = await execFileAsync('readlink', ['-f', join(prefix, 'bin', 'k8s-auth')]);
    expect(real.stdout.trim().startsWith(prefix)).toBe(true);
    const plugin = await execFileAsync('kubectl-k8s_auth', ['--version'], { env, cwd: dir });
    expect(plugin.stdout).toBe(`k8s-auth ${pkg.version} (node ${process.version}; exec credential API ${EXEC_API_V1}, ${EXEC_API_V1BETA1})\n`);
  }, 420_000);

  it('`npm install -g .` links the clone (dist/ built by `npm ci`): both commands on PATH', async () => {
    const prefix = join(dir, 'linked');
    // --ignore-scripts: the clone's dist/ is already built (as after `npm ci`); nothing to run
    await execFileAsync('npm', ['install', '--global', '--prefix', prefix, '.', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: repoRoot, timeout: 120_000 });
    const env = cleanEnv({ HOME: dir, PATH: `${join(prefix, 'bin')}:${process.env['PATH'] ?? ''}` });
    const version = await execFileAsync('k8s-auth', ['--version'], { env, cwd: dir });
    expect(version.stdout).toContain(`k8s-auth ${pkg.version} `);
    const help = await execFileAsync('kubectl-k8s_auth', ['--help'], { env, cwd: dir });
    expect(help.stdout).toMatch(/^Usage: kubectl k8s-auth /);
  }, 180_000);

  it('npm run demo does not build again (npm ci already builds through prepare)', () => {
    expect(pkg.scripts['prepare']).toBe('npm run build');
    expect(pkg.scripts['demo']).toBe('node scripts/demo.js');
  });
});

describe('k8s-auth version, --version, -v', () => {
  const env = cleanEnv({});
  it('prints one line with the version, Node and the exec credential API versions; -o json and yaml as data', async () => {
    const line = `k8s-auth ${pkg.version} (node ${process.version}; exec credential API ${EXEC_API_V1}, ${EXEC_API_V1BETA1})\n`;
    for (const args of [['version'], ['--version'], ['-v']]) {
      const run = await runCli(args, env);
      expect([run.code, run.stdout, run.stderr], args.join(' ')).toEqual([0, line, '']);
    }
    for (const args of [['version', '-o', 'json'], ['--version', '-o', 'json'], ['-v', '-o', 'json']]) {
      const run = await runCli(args, env);
      expect(run.code, run.stderr).toBe(0);
      const data = JSON.parse(run.stdout) as VersionJson;
      expect(data).toEqual({ version: pkg.version, node: process.version, execCredentialApiVersions: [EXEC_API_V1, EXEC_API_V1BETA1] });
    }
    const yaml = await runCli(['version', '-o', 'yaml'], env);
    expect(yaml.stdout).toContain(`version: ${pkg.version}`);
    const bad = await runCli(['version', '-o', 'table'], env);
    expect(bad.code).toBe(ExitCode.USAGE);
  });

  it('-v before a command is still --verbose', async () => {
    const run = await runCli(['-v', 'clusters', '--catalog', join(repoRoot, 'no-such-catalog.yaml')], env);
    expect(run.stdout).not.toContain('k8s-auth 0');
    expect(run.code).not.toBe(0);
  });
});

describe('did you mean', () => {
  const env = cleanEnv({});
  it('an unknown command or option: one line with the suggestion, exit 2', async () => {
    const command = await runCli(['logn', 'lab'], env);
    expect(command.code).toBe(ExitCode.USAGE);
    expectOneLineError(command.stderr, { message: /^error: unknown command 'logn': did you mean login\? \(see --help\)$/ });
    const option = await runCli(['login', 'lab', '--grnat', 'password'], env);
    expect(option.code).toBe(ExitCode.USAGE);
    expectOneLineError(option.stderr, { message: /^error: unknown option '--grnat': did you mean --grant\? \(see --help\)$/ });
    const nested = await runCli(['rbac', 'aply'], env);
    expect(nested.code).toBe(ExitCode.USAGE);
    expectOneLineError(nested.stderr, { message: /did you mean apply\?/ });
  });

  it('`help logn` is that error (exit 2, nothing on stdout), not the root help with exit 0', async () => {
    const typo = await runCli(['help', 'logn'], env);
    expect(typo.code).toBe(ExitCode.USAGE);
    expect(typo.stdout).toBe('');
    expectOneLineError(typo.stderr, { message: /^error: unknown command 'logn': did you mean login\?/ });
    const help = await runCli(['help', 'login'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: k8s-auth login \[options\] \[cluster\.\.\.\]/);
    expect(help.stdout).toBe((await runCli(['login', '--help'], env)).stdout);
    const nested = await runCli(['help', 'rbac', 'apply'], env);
    expect(nested.stdout).toMatch(/^Usage: k8s-auth rbac apply/);
  });
});

describe('bad timeouts name what was set', () => {
  let dir: TempDir;
  let catalog: string;
  beforeAll(() => {
    dir = tempDir('k8s-auth-newcomer-');
    catalog = writeCatalog(dir.file('clusters.yaml'), { lab: { server: 'https://127.0.0.1:6443', 'issuer-url': 'https://127.0.0.1:1/dex', 'client-id': 'k8s-auth' } });
  });
  afterAll(() => dir?.remove());

  it('K8S_AUTH_TIMEOUT and K8S_AUTH_HTTP_TIMEOUT are named as the variables; a typed flag as the flag', async () => {
    const fromEnv = await runCli(['login', 'lab', '--catalog', catalog], cleanEnv({ HOME: dir.path, K8S_AUTH_TIMEOUT: 'abc' }));
    expect(fromEnv.code).toBe(ExitCode.USAGE);
    expectOneLineError(fromEnv.stderr, { message: /^error: K8S_AUTH_TIMEOUT \(--timeout\) must be a positive number of seconds \(or 90s, 2m, 1h\), not 'abc'$/ });
    const http = await runCli(['login', 'lab', '--catalog', catalog], cleanEnv({ HOME: dir.path, K8S_AUTH_HTTP_TIMEOUT: '-1' }));
    expect(http.code).toBe(ExitCode.USAGE);
    expectOneLineError(http.stderr, { message: /^error: K8S_AUTH_HTTP_TIMEOUT \(--http-timeout\) must be a positive number of seconds \(or 90s, 2m, 1h\), not '-1'$/ });
    // the flag wins over the variable, and is then what the message names
    const typed = await runCli(['login', 'lab', '--catalog', catalog, '--timeout', '0'], cleanEnv({ HOME: dir.path, K8S_AUTH_TIMEOUT: '30' }));
    expect(typed.code).toBe(ExitCode.USAGE);
    expectOneLineError(typed.stderr, { message: /^error: --timeout must be a positive number of seconds \(or 90s, 2m, 1h\), not '0'$/ });
  });
});

describe('--no-browser over SSH', () => {
  let provider: TestProvider;
  let dir: TempDir;
  let catalog: string;
  beforeAll(async () => {
    provider = await startTestProvider();
    dir = tempDir('k8s-auth-newcomer-ssh-');
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      lab: { server: 'https://127.0.0.1:6443', 'issuer-url': provider.issuer, 'client-id': provider.clientId, 'idp-certificate-authority-data': base64(provider.caPem) },
    });
  });
  afterAll(async () => {
    await provider?.close();
    dir?.remove();
  });

  /** The callback answers on that port: a request without state gets our listener's 400. */
  const callbackAnswers = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      get({ host: '127.0.0.1', port, path: '/callback' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });

  async function noBrowserLogin(extraArgs: string[], env: Record<string, string>): Promise<{ stderr: string; port: number }> {
    const cli = startCli(['login', 'lab', '--catalog', catalog, '--kubeconfig', dir.file('kubeconfig'), '--no-browser', '--timeout', '30', ...extraArgs], cleanEnv({ HOME: dir.path, ...env }));
    try {
      const url = await cli.url;
      const port = Number(new URL(String(new URL(url).searchParams.get('redirect_uri'))).port);
      // the hint follows the URL on stderr
      const deadline = Date.now() + 10_000;
      while (!cli.stderr().includes('ssh -L') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await callbackAnswers(port)).toBe(400);
      return { stderr: cli.stderr(), port };
    } finally {
      cli.kill();
      await cli.exited;
    }
  }

  it('prints the exact ssh -L line for the live callback port, and names --listen-port', async () => {
    const { stderr, port } = await noBrowserLogin([], { SSH_CONNECTION: '203.0.113.7 50022 10.1.2.3 2222', USER: 'jane' });
    expect(stderr).toContain(`\n  ssh -L ${port}:127.0.0.1:${port} -p 2222 jane@10.1.2.3\n`);
    expect(stderr).toContain(`Unless you pass --listen-port <port>, the port changes on every run (to keep this one: --listen-port ${port}).`);
    // outside an SSH session, this host's name stands in
    const local = await noBrowserLogin([], { USER: 'jane' });
    expect(local.stderr).toContain(`\n  ssh -L ${local.port}:127.0.0.1:${local.port} jane@${hostname()}\n`);
  });

  it('with --listen-port, the line uses that port and says it is fixed', async () => {
    const fixed = await freeLoopbackPort();
    const { stderr, port } = await noBrowserLogin(['--listen-port', String(fixed)], { SSH_CONNECTION: '203.0.113.7 50022 10.1.2.3 22', USER: 'jane' });
    expect(port).toBe(fixed);
    expect(stderr).toContain(`\n  ssh -L ${fixed}:127.0.0.1:${fixed} jane@10.1.2.3\n`);
    expect(stderr).toContain(`The port is fixed by --listen-port ${fixed}.`);
  });
});
