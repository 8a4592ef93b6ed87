#!/usr/bin/env node
// `npm run demo`: a real login, end to end, on this machine only. It starts an OpenID provider
// on loopback HTTPS with a throwaway CA (scripts/demo-provider.mjs), writes a catalog file,
// runs the real CLI
//   k8s-auth login demo --catalog .demo/clusters.yaml --kubeconfig .demo/kubeconfig
//     --browser-command "node scripts/headless-browser.mjs"
// with headless Chromium playing the person at the browser (credentials in the environment,
// never in argv), then `k8s-auth whoami` on the kubeconfig it wrote. Everything lands in .demo/
// (or K8S_AUTH_DEMO_DIR, which tests use).
//
// `npm run demo -- --keep` also starts a local kube-apiserver (scripts/demo-apiserver.mjs, from
// the test peer cache that test/peers/kubernetes/install.sh builds) trusting the provider's ID
// tokens, points the demo cluster at it, keeps both running after the login, prints three
// commands to try, and on Ctrl-C (SIGINT) or SIGTERM stops every child by pid, removes its temp
// dir and exits 0. Without those binaries it keeps just the provider and says how to build them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoApiServerBinaries, INSTALL_SCRIPT, startDemoApiServer } from './demo-apiserver.mjs';
import { startDemoProvider } from './demo-provider.mjs';
import { parse } from 'yaml';

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

const USAGE = 'usage: npm run demo [-- --keep]   (--keep: leave the provider, and a local API server when built, running until Ctrl-C)';

/** `--keep` or nothing; anything else is a usage error (exit 2). */
function parseArgs(argv) {
  const flags = { keep: false };
  for (const arg of argv) {
    if (arg === '--keep') flags.keep = true;
    else if (arg === '-h' || arg === '--help') flags.help = true;
    else {
      flags.error = `unknown argument '${arg}'`;
      break;
    }
  }
  return flags;
}

/** A word as the user would type it in a POSIX shell. */
function shellWord(word) {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The ID token of the kubeconfig's first user (the login wrote it). */
function idTokenIn(file) {
  const token = parse(readFileSync(file, 'utf8'))?.users?.[0]?.user?.['auth-provider']?.config?.['id-token'];
  if (typeof token !== 'string' || token === '') throw new Error(`no ID token in ${rel(file)}`);
  return token;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilStopped() {
  return new Promise((resolve) => {
    const onSignal = (signal) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function main() {
  const flags = parseArgs(process.argv.slice(2));
  if (flags.help) {
    say(USAGE);
    return 0;
  }
  if (flags.error) {
    say(`${flags.error}: ${USAGE}`);
    return 2;
  }
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
  let apiServer;
  const stop = async () => {
    await apiServer?.stop();
    await provider.close();
  };
  // Ctrl-C or SIGTERM before the commands are printed: stop everything, report the interruption
  const interrupted = (signal) => {
    void stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const binaries = flags.keep ? demoApiServerBinaries() : undefined;
    let apiReady;
    if (binaries?.ok) {
      say(`Starting a local kube-apiserver ${binaries.version} and etcd (loopback, trusting the provider's ID tokens)…`);
      apiServer = await startDemoApiServer({ binaries, provider, clientId: 'k8s-auth', username: user.email });
      apiReady = apiServer.ready();
      apiReady.catch(() => {}); // awaited after the login
    }
    const catalog = join(demoDir, 'clusters.yaml');
    const kubeconfig = join(demoDir, 'kubeconfig');
    writeFileSync(
      catalog,
      [
        '# written by scripts/demo.js: one cluster entry, the shape Vault secrets have too',
        'clusters:',
        '  demo:',
        `    server: ${apiServer?.server ?? 'https://127.0.0.1:6443'}`,
        ...(apiServer ? [`    certificate-authority-data: ${Buffer.from(apiServer.caPem).toString('base64')}`] : []),
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
    if (!flags.keep) return 0;
    if (apiServer) {
      say(`\nWaiting for the local kube-apiserver at ${apiServer.server} to accept jane's ID token…`);
      await apiReady;
      await apiServer.waitForIdToken(idTokenIn(kubeconfig));
    }
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    const stopped = untilStopped();
    const k = (...words) => `k8s-auth ${words.map(shellWord).join(' ')}`;
    const where = `from ${rel(process.cwd()) === '.' ? 'this directory' : process.cwd()}; \`node bin/k8s-auth.js\` if k8s-auth is not installed`;
    if (apiServer) {
      const [etcdPid, apiserverPid] = apiServer.pids;
      say(`\nThe provider keeps running at ${provider.issuer}, and kube-apiserver ${apiServer.version} at ${apiServer.server} (pids: etcd ${etcdPid}, kube-apiserver ${apiserverPid}). Try (${where}):`);
      say(`  ${[apiServer.kubectl, '--kubeconfig', rel(kubeconfig), 'get', 'namespaces'].map(shellWord).join(' ')}`);
      say(`  ${k('whoami', '--kubeconfig', rel(kubeconfig))}`);
      say(`  ${k('doctor', 'demo', '--catalog', rel(catalog), '--kubeconfig', rel(kubeconfig))}`);
      say(`(kubectl signs in with jane's ID token and refreshes it; who the ID token names; every check from the catalog to the API server)`);
      say('Press Ctrl-C to stop the provider and the API server.');
    } else {
      say(`\nThe provider keeps running at ${provider.issuer}. Try (${where}):`);
      say(`  ${k('whoami', '--kubeconfig', rel(kubeconfig))}`);
      say(`  ${k('logout', 'demo', '--kubeconfig', rel(kubeconfig))}`);
      // the throwaway demo user's password, only ever valid at this loopback provider
      const again = [k('login', 'demo', '--catalog', rel(catalog), '--kubeconfig', rel(kubeconfig))];
      if (headless) again.unshift(`K8S_AUTH_DEMO_LOGIN=${shellWord(user.email)} K8S_AUTH_DEMO_PASSWORD=${shellWord(user.password)}`);
      if (headless) again.push('--browser-command', shellWord(`node ${rel(join(root, 'scripts', 'headless-browser.mjs'))}`));
      say(`  ${again.join(' ')}`);
      say(`(who the ID token names; remove the tokens and revoke the refresh token at the provider; sign in again${headless ? '' : ` as ${user.email}, password ${user.password}`})`);
      say(`No API server is available (${binaries.missing} is missing): build kube-apiserver and kubectl with ${INSTALL_SCRIPT}, then run \`npm run demo -- --keep\` again for kubectl commands.`);
      say('Press Ctrl-C to stop the provider.');
    }
    const signal = await stopped;
    say(`\n${signal}: stopping the provider${apiServer ? ', kube-apiserver and etcd' : ''}.`);
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
