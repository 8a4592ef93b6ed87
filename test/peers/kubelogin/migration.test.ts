// From kubelogin to k8s-auth, as docs/migrating.md ("From kubelogin", "Step by step") tells a
// person to do it, against real peers: int128/kubelogin v1.36.3 (test/peers/kubelogin/install.sh),
// the Dex-shaped test provider over HTTPS, a real kube-apiserver 1.20 whose OIDC authenticator
// trusts that provider (test/cluster/fixture.ts), Debian kubectl 1.32 and headless Chromium as
// the person at the provider's page.
//
// First kubelogin itself, with a kubeconfig as kubelogin's docs have people write it (user.exec:
// `kubectl oidc-login get-token --oidc-issuer-url=… --oidc-client-id=… …`; kubectl finds the
// plugin `kubectl-oidc_login` on PATH as krew installs it): kubectl signs jane in through it and
// is authenticated as jane, so the comparison with us is on the same provider and server. Then
// each step of the doc, in order, with the commands as the doc writes them (catalog in the
// default place, KUBECONFIG in the environment, `k8s-auth` found on PATH).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { chromiumAvailable, launchChromium, newPage, signInOnProviderPage } from '../../support/browser.js';
import { cleanEnv, signInWithBrowser, tempDir, type TempDir } from '../../support/login-harness.js';
import { repoRoot, skipUnless } from '../../support/skip.js';
import { apiRequest, selfSubjectAccessReview } from '../../cluster/api-client.js';
import { startClusterFixture, type ClusterFixture } from '../../cluster/fixture.js';
import { controlPlaneBinaries } from '../../cluster/processes.js';
import { freeLoopbackPort } from '../process.js';
import { KUBELOGIN_MISSING, kubeloginAvailable, kubeloginBinary } from './kubelogin.js';

const kubectl132 = join(repoRoot, '.tools', 'bin', 'kubectl-1.32');
const skip =
  skipUnless(kubeloginAvailable(), KUBELOGIN_MISSING) ||
  skipUnless(controlPlaneBinaries().ok, 'the 1.20 control plane is not built: run test/cluster/build-control-plane.sh') ||
  skipUnless(existsSync(kubectl132), `${kubectl132} is missing: run scripts/fetch-kubectl.sh`) ||
  skipUnless(chromiumAvailable(), 'Debian chromium (/usr/bin/chromium) is not installed');

const JANE = { login: 'jane@example.com', password: 'jane-password' };
const CONTEXT = 'prod';
const KUBELOGIN_USER = 'oidc';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
interface Background {
  /** the first loopback URL printed on stderr (kubelogin's --skip-open-browser, our --no-browser) */
  url: Promise<string>;
  exited: Promise<Run>;
}
interface ExecUser {
  apiVersion: string;
  command: string;
  args: string[];
}
interface Kubeconfig {
  'current-context'?: string;
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users: { name: string; user: { exec?: ExecUser } }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
}

function start(command: string, args: readonly string[], env: NodeJS.ProcessEnv, urlPattern: RegExp, timeoutMs = 90_000): Background {
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let gotUrl!: (url: string) => void;
  let noUrl!: (error: Error) => void;
  const url = new Promise<string>((res, rej) => {
    gotUrl = res;
    noUrl = rej;
  });
  url.catch(() => undefined);
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    const m = urlPattern.exec(stderr);
    if (m?.[1]) gotUrl(m[1]);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<Run>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      noUrl(new Error(`${command} exited (${String(code)}) before printing a URL: ${stderr.trim()}`));
      res({ code, stdout, stderr });
    });
  });
  return { url, exited };
}

const run = (command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> => start(command, args, env, /$^/, 30_000).exited;

/** kubelogin's page after the callback says "Authenticated"; returns the page text. */
async function signInThroughKubelogin(browser: Browser, url: string): Promise<string> {
  const page = await newPage(browser);
  try {
    await page.goto(url);
    await signInOnProviderPage(page, JANE);
    await page.waitForURL((u) => u.protocol === 'http:' && u.pathname === '/callback', { timeout: 20_000 });
    await page.waitForLoadState('load');
    return (await page.textContent('body')) ?? '';
  } finally {
    await page.context().close();
  }
}

describe.skipIf(skip)('migrating from kubelogin v1.36.3 by the steps of docs/migrating.md (real kubelogin, kube-apiserver 1.20, kubectl 1.32, Chromium)', () => {
  let fx: ClusterFixture;
  let browser: Browser;
  let dir: TempDir;
  let env: NodeJS.ProcessEnv;
  let kubeconfig: string;
  let port: number;

  const kubectl = (args: string[]): Promise<Run> => run('kubectl', args, env);
  const readKubeconfig = (): Kubeconfig => parse(readFileSync(kubeconfig, 'utf8')) as Kubeconfig;
  const home = (...parts: string[]): string => join(dir.path, ...parts);

  beforeAll(async () => {
    if (!existsSync(join(repoRoot, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build`');
    [fx, browser] = await Promise.all([startClusterFixture(), launchChromium()]);
    dir = tempDir('k8s-auth-kubelogin-migration-');
    // PATH as a person has it: kubectl, kubelogin as krew installs it, and k8s-auth (npm -g)
    const bin = home('bin');
    mkdirSync(bin);
    symlinkSync(resolve(kubectl132), join(bin, 'kubectl'));
    symlinkSync(kubeloginBinary, join(bin, 'kubectl-oidc_login'));
    symlinkSync(join(repoRoot, 'bin', 'k8s-auth.js'), join(bin, 'k8s-auth'));
    kubeconfig = home('.kube', 'config');
    env = cleanEnv({ HOME: dir.path, KUBECONFIG: kubeconfig, PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin` });
    port = await freeLoopbackPort();

    // jane's group may read: ClusterRole view for the group developers (from the ID token)
    const binding = await apiRequest(fx.cp, {
      method: 'POST', path: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', auth: fx.cp.adminAuth,
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'developers-view' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
      },
    });
    expect(binding.status, binding.body).toBe(201);
    const probe = await fx.provider.mintIdToken({ email: JANE.login, groups: ['developers'], expiresInSeconds: 600 });
    const deadline = Date.now() + 15_000;
    while ((await selfSubjectAccessReview(fx.cp, { kind: 'bearer', token: probe }, { verb: 'list', resource: 'namespaces' })).allowed !== true) {
      if (Date.now() > deadline) throw new Error('the developers-view binding did not take effect within 15 s');
      await new Promise((r) => setTimeout(r, 200));
    }

    // the kubeconfig as kubelogin's setup guide has people write it
    mkdirSync(home('.kube'), { mode: 0o700 });
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: CONTEXT, cluster: { server: fx.cp.server, 'certificate-authority-data': fx.cp.caData } }],
        users: [
          {
            name: KUBELOGIN_USER,
            user: {
              exec: {
                apiVersion: 'client.authentication.k8s.io/v1beta1',
                command: 'kubectl',
                args: [
                  'oidc-login',
                  'get-token',
                  `--oidc-issuer-url=${fx.provider.issuer}`,
                  `--oidc-client-id=${fx.provider.clientId}`,
                  '--oidc-extra-scope=email',
                  '--oidc-extra-scope=groups',
                  `--certificate-authority=${fx.provider.caFile}`,
                  // the provider's public client allows any loopback port, but only the path /callback
                  `--listen-address=127.0.0.1:${port}`,
                  `--oidc-redirect-url=http://127.0.0.1:${port}/callback`,
                  '--skip-open-browser',
                ],
              },
            },
          },
        ],
        contexts: [{ name: CONTEXT, context: { cluster: CONTEXT, user: KUBELOGIN_USER } }],
        'current-context': CONTEXT,
      }),
      { mode: 0o600 },
    );
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
    dir?.remove();
  });

  it('kubelogin itself: kubectl signs jane in through `kubectl oidc-login get-token` and is authenticated as jane; the next call is served from its cache', async () => {
    const first = start('kubectl', ['get', 'namespaces', '-o', 'name'], env, /Please visit the following URL in your browser: (http:\/\/127\.0\.0\.1:\d+\/)/);
    const page = await signInThroughKubelogin(browser, await first.url);
    expect(page).toContain('Authenticated');
    const got = await first.exited;
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.trim().split('\n')).toContain('namespace/default');

    // kubelogin's cache (its default place under HOME), and no new sign-in for the next call
    const cacheDir = home('.kube', 'cache', 'oidc-login');
    expect(readdirSync(cacheDir).filter((f) => !f.endsWith('.lock')).length).toBeGreaterThan(0);
    const create = await kubectl(['create', 'namespace', 'by-kubelogin']);
    expect(create.code).toBe(1);
    expect(create.stderr).toContain('User "jane@example.com" cannot create resource "namespaces"');
    expect(create.stderr).not.toContain('Please visit');
  }, 120_000);

  it('the doc\'s steps turn that kubeconfig into ours; kubectl then works through `k8s-auth credential` as jane', async () => {
    const before = readKubeconfig();
    const user = before.users.find((u) => u.name === KUBELOGIN_USER)?.user.exec;
    const cluster = before.clusters.find((c) => c.name === CONTEXT)?.cluster;
    expect(user?.args.slice(0, 2)).toEqual(['oidc-login', 'get-token']);
    const flag = (name: string): string | undefined => user?.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

    // Step 1: one catalog entry from the cluster and the get-token flags (the doc's table)
    const caFile = flag('certificate-authority');
    expect(caFile).toBeTruthy();
    const entry = {
      server: cluster?.server,
      'certificate-authority-data': cluster?.['certificate-authority-data'],
      'issuer-url': flag('oidc-issuer-url'),
      'client-id': flag('oidc-client-id'),
      'idp-certificate-authority-data': Buffer.from(readFileSync(String(caFile))).toString('base64'),
      'redirect-uri': flag('oidc-redirect-url'),
    };
    mkdirSync(home('.config', 'k8s-auth'), { recursive: true });
    writeFileSync(home('.config', 'k8s-auth', 'clusters.yaml'), stringify({ clusters: { [CONTEXT]: entry } }));
    const clusters = await run('k8s-auth', ['clusters'], env);
    expect(clusters.code, clusters.stderr).toBe(0);
    expect(clusters.stdout).toContain(CONTEXT);

    // Step 2: `k8s-auth login prod --exec` (here --no-browser, for --skip-open-browser)
    const login = start('k8s-auth', ['login', CONTEXT, '--exec', '--no-browser'], env, /(https:\/\/127\.0\.0\.1:\d+\/dex\/auth\?\S+)/);
    const url = await login.url;
    expect(new URL(url).searchParams.get('redirect_uri')).toBe(entry['redirect-uri']);
    const landed = await signInWithBrowser(browser, url, JANE);
    expect(landed.text).toContain('jane@example.com');
    const loggedIn = await login.exited;
    expect(loggedIn.code, loggedIn.stderr).toBe(0);

    const after = readKubeconfig();
    const context = after.contexts.find((c) => c.name === CONTEXT)?.context;
    expect(after['current-context']).toBe(CONTEXT);
    expect(context?.cluster).toBe(CONTEXT);
    expect(context?.user).toBe(`jane@example.com@${CONTEXT}`);
    const ours = after.users.find((u) => u.name === context?.user)?.user.exec;
    expect(ours?.command).toBe('k8s-auth');
    expect(ours?.args.slice(0, 2)).toEqual(['credential', CONTEXT]);
    expect(after.clusters.find((c) => c.name === CONTEXT)?.cluster.server).toBe(fx.cp.server);

    // Step 3: the kubelogin user is left behind; delete it as the doc says
    expect(after.users.map((u) => u.name)).toContain(KUBELOGIN_USER);
    const deleted = await kubectl(['config', 'delete-user', KUBELOGIN_USER]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(readKubeconfig().users.map((u) => u.name)).toEqual([`jane@example.com@${CONTEXT}`]);

    // Step 4: `k8s-auth doctor prod`, then kubectl, which now runs our plugin (from our cache)
    const doctor = await run('k8s-auth', ['doctor', CONTEXT], env);
    expect(doctor.code, `${doctor.stdout}\n${doctor.stderr}`).toBe(0);
    const get = await kubectl(['get', 'namespaces', '-o', 'name']);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.trim().split('\n')).toContain('namespace/kube-system');
    const create = await kubectl(['create', 'namespace', 'by-k8s-auth']);
    expect(create.code).toBe(1);
    expect(create.stderr).toContain('User "jane@example.com" cannot create resource "namespaces"');
    expect((await apiRequest(fx.cp, { path: '/api/v1/namespaces/by-k8s-auth', auth: fx.cp.adminAuth })).status).toBe(404);

    // Step 5: kubelogin's cache goes; nothing needs it any more
    rmSync(home('.kube', 'cache', 'oidc-login'), { recursive: true, force: true });
    const again = await kubectl(['auth', 'can-i', 'list', 'pods']);
    expect([again.code, again.stdout.trim()], again.stderr).toEqual([0, 'yes']);

    // the plugin, run as kubectl runs it, prints an ExecCredential with jane's ID token
    const plugin = await run('k8s-auth', ours?.args ?? [], {
      ...env,
      KUBERNETES_EXEC_INFO: JSON.stringify({ kind: 'ExecCredential', apiVersion: ours?.apiVersion, spec: { interactive: false } }),
    });
    expect(plugin.code, plugin.stderr).toBe(0);
    const cred = JSON.parse(plugin.stdout) as { apiVersion: string; status: { token: string; expirationTimestamp: string } };
    expect(cred.apiVersion).toBe(ours?.apiVersion);
    const claims = JSON.parse(Buffer.from(cred.status.token.split('.')[1] ?? '', 'base64url').toString()) as { iss: string; email: string; groups: string[] };
    expect(claims).toMatchObject({ iss: fx.provider.issuer, email: JANE.login, groups: ['developers'] });
    expect(existsSync(home('.kube', 'cache', 'k8s-auth'))).toBe(true);
  }, 180_000);
});
