// The token cache and kubeconfig directories as an attacker on the same machine sees them: a
// cache directory another user created (KUBECACHEDIR under /tmp) with a symlink planted at the
// predictable entry name, a directory others may write, a symlinked cache or lock file, and the
// user's own `--token-cache-dir /tmp`. k8s-auth must refuse each with one line (exit 8) BEFORE
// anyone signs in (the provider sees no token request), write nothing through a symlink, and
// never chmod a directory it did not create. "Another user" is uid 65534 for real: the planting
// runs under `setpriv --reuid 65534` (util-linux), ownership is changed with chown.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLUSTER, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { expectOneLineError, spawnCli } from '../support/reliability-harness.js';
import { skipUnless } from '../support/skip.js';

const OTHER_UID = 65534;
const JANE = 'jane@example.com';
const isRoot = process.getuid?.() === 0;
const hasSetpriv = (() => {
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
// chown to another uid and setpriv --reuid need root; CI runs the suite as root
const skip = skipUnless(isRoot && hasSetpriv, 'needs root and setpriv (util-linux) to act as another user (uid 65534)', 'security-cache-dir');

/** Runs a shell command as uid 65534 (the attacker), for real. */
function asOtherUser(script: string): void {
  execFileSync('setpriv', ['--reuid', String(OTHER_UID), '--regid', String(OTHER_UID), '--clear-groups', 'sh', '-c', script], { stdio: 'pipe' });
}

let fx: CredentialFixture;
let shared: string;
let victim: string;
const VICTIM_TEXT = 'precious data of the victim\n';
const entryName = () => basename(fx.cacheFile(JANE));

beforeAll(async () => {
  fx = await startCredentialFixture();
  victim = join(fx.dir, 'victim.txt');
});

afterAll(async () => {
  await fx?.close();
});

beforeEach(() => {
  writeFileSync(victim, VICTIM_TEXT, { mode: 0o600 });
  // a shared directory like /tmp (sticky, world-writable), never the real /tmp
  if (shared) rmSync(shared, { recursive: true, force: true });
  shared = mkdtempSync(join(tmpdir(), 'k8s-auth-shared-'));
  chmodSync(shared, 0o1777);
  fx.op.resetStats();
});

afterAll(() => {
  if (shared) rmSync(shared, { recursive: true, force: true });
});

const loginExec = (cacheDir: string, kubeconfig = join(fx.dir, 'kubeconfig'), ...extra: string[]) =>
  spawnCli(
    ['login', CLUSTER, '--exec', '--grant', 'password', '--username', JANE, '--login-hint', JANE, '--kubeconfig', kubeconfig, '--catalog', fx.catalogFile, '--token-cache-dir', cacheDir, ...extra],
    fx.env({ K8S_AUTH_PASSWORD: 'jane-password' }),
  ).exited;

const login = (kubeconfig: string) =>
  spawnCli(['login', CLUSTER, '--grant', 'password', '--username', JANE, '--kubeconfig', kubeconfig, '--catalog', fx.catalogFile], fx.env({ K8S_AUTH_PASSWORD: 'jane-password' })).exited;

const mode = (path: string) => statSync(path).mode & 0o7777;

describe.skipIf(skip)('token cache and kubeconfig directories nobody else controls', () => {
  it('a cache directory created by another user, with a symlink planted at the entry name: refused before sign-in, the symlink target untouched', async () => {
    const cacheDir = join(shared, 'k8s-auth');
    asOtherUser(`mkdir -m 755 '${cacheDir}' && ln -s '${victim}' '${join(cacheDir, entryName())}'`);
    expect(lstatSync(cacheDir).uid).toBe(OTHER_UID);
    const run = await loginExec(cacheDir);
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: new RegExp(`token cache directory ${cacheDir} is owned by uid ${OTHER_UID}, not you`), hint: /--token-cache-dir|KUBECACHEDIR/ });
    expect(fx.op.stats.password).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(mode(cacheDir)).toBe(0o755);
  });

  it('a cache directory of another user, mode 0700: refused before sign-in', async () => {
    const cacheDir = join(shared, 'theirs');
    mkdirSync(cacheDir, { mode: 0o700 });
    chownSync(cacheDir, OTHER_UID, OTHER_UID);
    const run = await loginExec(cacheDir);
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: /is owned by uid 65534, not you/, hint: /--token-cache-dir|KUBECACHEDIR/ });
    expect(fx.op.stats.password).toBe(0);
    expect(existsSync(join(cacheDir, entryName()))).toBe(false);
  });

  it('--token-cache-dir a sticky world-writable directory (as /tmp): refused with a hint, its mode 1777 untouched', async () => {
    const run = await loginExec(shared);
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: new RegExp(`token cache directory ${shared} is writable by other users \\(mode 1777\\)`), hint: /mkdir -m 700/ });
    expect(mode(shared)).toBe(0o1777);
    expect(fx.op.stats.password).toBe(0);
  });

  it('--token-cache-dir a directory of ours with mode 0777: refused, mode untouched', async () => {
    const cacheDir = join(shared, 'open');
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    const run = await loginExec(cacheDir);
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: /is writable by other users \(mode 777\)/, hint: /mkdir -m 700/ });
    expect(mode(cacheDir)).toBe(0o777);
    expect(fx.op.stats.password).toBe(0);
  });

  it('a symlink at the entry name in our own cache directory: login --exec refuses before sign-in and writes nothing through it', async () => {
    const cacheDir = mkdtempSync(join(fx.dir, 'own-'));
    symlinkSync(victim, join(cacheDir, entryName()));
    const run = await loginExec(cacheDir);
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: /token cache file .* is a symbolic link/, hint: /remove it/ });
    expect(fx.op.stats.password).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(readlinkSync(join(cacheDir, entryName()))).toBe(victim);
  });

  it('a symlinked cache file holding a valid token: neither the exec hot path nor the full path serves it', async () => {
    // a valid entry written elsewhere (say, the attacker's own sign-in), linked in at the entry name
    const tokens = await fx.realTokens();
    fx.writeCache(tokens);
    const elsewhere = join(fx.dir, 'planted-entry.json');
    renameSync(fx.cacheFile(), elsewhere);
    symlinkSync(elsewhere, fx.cacheFile());
    try {
      const run = await spawnCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) })).exited;
      expect(run.stdout).toBe('');
      expect(run.code, run.stderr).toBe(8);
      expectOneLineError(run.stderr, { message: /token cache file .* is a symbolic link/, hint: /remove it/ });
    } finally {
      rmSync(fx.cacheFile(), { force: true });
    }
  });

  it('a symlinked lock file: refused at once (exit 8), the target untouched', async () => {
    const cacheDir = mkdtempSync(join(fx.dir, 'own-'));
    symlinkSync(victim, join(cacheDir, `${entryName()}.lock`));
    const run = await loginExec(cacheDir);
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: /lock file .*\.lock is a symbolic link/, hint: /remove it/ });
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(run.ms).toBeLessThan(8_000);
  });

  it('a kubeconfig directory owned by another user: refused before sign-in', async () => {
    const kubeDir = join(shared, 'kube-theirs');
    asOtherUser(`mkdir -m 755 '${kubeDir}'`);
    const run = await login(join(kubeDir, 'config'));
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: new RegExp(`kubeconfig directory ${kubeDir} is owned by uid ${OTHER_UID}, not you`), hint: /--kubeconfig|KUBECONFIG/ });
    expect(fx.op.stats.password).toBe(0);
    expect(existsSync(join(kubeDir, 'config'))).toBe(false);
  });

  it('a kubeconfig in a world-writable directory: refused before sign-in, nothing written', async () => {
    const run = await login(join(shared, 'config'));
    expect(run.code, run.stderr).toBe(8);
    expectOneLineError(run.stderr, { message: /kubeconfig directory .* is writable by other users \(mode 1777\)/, hint: /--kubeconfig|KUBECONFIG/ });
    expect(fx.op.stats.password).toBe(0);
    expect(existsSync(join(shared, 'config'))).toBe(false);
    expect(mode(shared)).toBe(0o1777);
  });

  it('still works: a new cache directory is created 0700; an existing one of ours with mode 0755 is used as it is', async () => {
    const fresh = join(fx.dir, 'fresh', 'cache');
    const first = await loginExec(fresh, join(fx.dir, 'kc-fresh'));
    expect(first.code, first.stderr).toBe(0);
    expect(mode(fresh)).toBe(0o700);
    expect(mode(join(fresh, entryName()))).toBe(0o600);

    const existing = mkdtempSync(join(fx.dir, 'existing-'));
    chmodSync(existing, 0o755);
    const second = await loginExec(existing, join(fx.dir, 'kc-existing'));
    expect(second.code, second.stderr).toBe(0);
    expect(mode(existing)).toBe(0o755);
    expect(mode(join(existing, entryName()))).toBe(0o600);
  });

  it('still works: the tool\'s own default directory ($KUBECACHEDIR/k8s-auth), left 0755 by an older run, is tightened to 0700', async () => {
    const kubeCache = mkdtempSync(join(fx.dir, 'kubecache-'));
    const own = join(kubeCache, 'k8s-auth');
    mkdirSync(own, { mode: 0o755 });
    chmodSync(own, 0o755);
    const run = await spawnCli(
      ['login', CLUSTER, '--exec', '--grant', 'password', '--username', JANE, '--kubeconfig', join(fx.dir, 'kc-default'), '--catalog', fx.catalogFile],
      fx.env({ K8S_AUTH_PASSWORD: 'jane-password', KUBECACHEDIR: kubeCache }),
    ).exited;
    expect(run.code, run.stderr).toBe(0);
    expect(mode(own)).toBe(0o700);
    expect(mode(kubeCache)).toBe(0o700);
  });
});
