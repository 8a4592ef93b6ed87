#!/usr/bin/env node
// `npm run demo`: a real login, end to end, on this machine only. It starts an OpenID provider
// on loopback HTTPS with a throwaway CA (scripts/demo-provider.mjs), writes a catalog file,
// runs the real CLI
//   k8s-auth login demo --catalog .demo/clusters.yaml --kubeconfig .demo/kubeconfig
//     --browser-command "node scripts/headless-browser.mjs"
// with headless Chromium playing the person at the browser (credentials in the environment,
// never in argv), then `k8s-auth whoami` on the kubeconfig it wrote. Everything lands in .demo/
// (or K8S_AUTH_DEMO_DIR, which tests use).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemoProvider } from './demo-provider.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demoDir = process.env.K8S_AUTH_DEMO_DIR ? resolve(process.env.K8S_AUTH_DEMO_DIR) : join(root, '.demo');
const cli = join(root, 'bin', 'k8s-auth.js');
const chromium = process.env.K8S_AUTH_DEMO_CHROMIUM || '/usr/bin/chromium';
const rel = (p) => relative(process.cwd(), p) || '.';

function say(line) {
  process.stderr.write(`${line}\n`);
}

function run(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function playwrightAvailable() {
  try {
    await import('playwright-core');
    return true;
  } catch {
    return false;
  }
}

async function main() {
  if (!existsSync(join(root, 'dist', 'cli.js'))) {
    say('dist/ is missing: run `npm ci` (it builds through `prepare`) or `npm run build`, then `npm run demo` again');
    return 1;
  }
  const headless = existsSync(chromium) && (await playwrightAvailable());
  const desktop = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) || process.platform !== 'linux';
  if (!headless && !desktop) {
    say('Nothing can show the sign-in page here: no Chromium for the headless sign-in and no desktop.');
    say(`Install Chromium (Debian/Ubuntu: 'sudo apt-get install chromium') and the dev dependencies ('npm ci'), then run 'npm run demo' again.`);
    return 1;
  }

  // only what an earlier demo wrote: K8S_AUTH_DEMO_DIR may hold other files
  for (const name of ['pki', 'clusters.yaml', 'kubeconfig', 'kubeconfig.lock']) rmSync(join(demoDir, name), { recursive: true, force: true });
  mkdirSync(demoDir, { recursive: true, mode: 0o700 });
  const user = { email: 'jane@example.com', password: randomBytes(12).toString('base64url'), groups: ['developers', 'demo'], name: 'Jane Doe' };
  say('Starting a local OpenID provider (HTTPS, throwaway CA)…');
  const provider = await startDemoProvider({ pkiDir: join(demoDir, 'pki'), users: [user] });
  const stop = () => provider.close();
  process.once('SIGINT', () => {
    void stop().then(() => process.exit(130));
  });
  try {
    const catalog = join(demoDir, 'clusters.yaml');
    const kubeconfig = join(demoDir, 'kubeconfig');
    writeFileSync(
      catalog,
      [
        '# written by scripts/demo.js: one cluster entry, the shape Vault secrets have too',
        'clusters:',
        '  demo:',
        '    server: https://127.0.0.1:6443',
        `    issuer-url: ${provider.issuer}`,
        '    client-id: k8s-auth',
        `    idp-certificate-authority-data: ${Buffer.from(provider.caPem).toString('base64')}`,
        '    namespace: demo',
        '',
      ].join('\n'),
    );
    say(`Provider at ${provider.issuer}; catalog ${rel(catalog)}`);

    const env = { ...process.env, K8S_AUTH_DEMO_LOGIN: user.email, K8S_AUTH_DEMO_PASSWORD: user.password };
    for (const name of ['KUBECONFIG', 'K8S_AUTH_CATALOG', 'VAULT_ADDR', 'BROWSER']) delete env[name];
    const args = ['login', 'demo', '--catalog', catalog, '--kubeconfig', kubeconfig, '--timeout', '120'];
    if (headless) {
      args.push('--browser-command', 'node scripts/headless-browser.mjs');
      say(`Running: k8s-auth ${args.slice(0, -2).map((a) => (a.startsWith('/') ? rel(a) : a)).join(' ')} --browser-command "node scripts/headless-browser.mjs"`);
      say('(headless Chromium plays the person at the browser and signs in as the demo user)');
    } else {
      say(`No Chromium for a headless sign-in: your browser opens; sign in as ${user.email} with password ${user.password}`);
    }
    const loginCode = await run(args, env);
    if (loginCode !== 0) {
      say(`\nThe login failed (exit ${loginCode}); see the message above.`);
      return loginCode;
    }
    say(`\nk8s-auth whoami --kubeconfig ${rel(kubeconfig)}`);
    const whoamiCode = await run(['whoami', '--kubeconfig', kubeconfig], env);
    if (whoamiCode !== 0) return whoamiCode;
    say(`\nDone: ${user.email} signed in; the kubeconfig is ${rel(kubeconfig)} (context "demo", an auth-provider: oidc user kubectl can refresh).`);
    return 0;
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    say(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
