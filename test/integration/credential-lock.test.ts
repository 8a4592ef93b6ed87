// The per-entry cache lock: a holder that was SIGKILLed does not block the next call beyond the
// stale-lock rule; a live holder makes waiters give up after --lock-timeout with exit 11.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeClaims, execInfo, startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { runCli } from '../support/run-cli.js';
import { repoRoot } from '../support/skip.js';

/** A separate node process that takes the lock with the CLI's own code and holds it. */
function holdLock(lockPath: string): Promise<ChildProcess> {
  const lockModule = pathToFileURL(join(repoRoot, 'dist', 'adapters', 'file-lock.js')).href;
  const script = `
    const { acquireLock } = await import(${JSON.stringify(lockModule)});
    await acquireLock(${JSON.stringify(lockPath)}, { timeoutMs: 5000 });
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('lock holder did not start')), 10_000);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      if (d.includes('locked')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('exit', (code) => reject(new Error(`lock holder exited early (${String(code)})`)));
  });
}

describe('credential: the cache lock', () => {
  let fx: CredentialFixture;
  let holder: ChildProcess | undefined;

  beforeAll(async () => {
    fx = await startCredentialFixture();
  });
  afterEach(() => {
    if (holder && holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
    holder = undefined;
  });
  afterAll(async () => {
    await fx?.close();
  });

  async function expiredEntryWithRealRefresh(): Promise<string> {
    const real = await fx.realTokens();
    const expired = await fx.op.mintIdToken({ email: 'jane@example.com', issuedAt: Math.floor(Date.now() / 1000) - 7200, expiresInSeconds: 3600 });
    fx.writeCache({ idToken: expired, refreshToken: real.refreshToken });
    fx.op.resetStats();
    return expired;
  }

  it('a SIGKILLed lock holder leaves a lock file that the next call recovers at once', async () => {
    const expired = await expiredEntryWithRealRefresh();
    const lockPath = `${fx.cacheFile()}.lock`;
    holder = await holdLock(lockPath);
    const holderPid = holder.pid;
    const exited = new Promise((resolve) => holder?.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    // the dead process's lock is still on disk, naming it
    expect(existsSync(lockPath)).toBe(true);
    expect((JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number }).pid).toBe(holderPid);

    const run = await runCli(fx.credentialArgs('--lock-timeout', '20'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code, run.stderr).toBe(0);
    // recovered by the dead-pid rule, far below the 20 s timeout
    expect(run.ms).toBeLessThan(5_000);
    const token = (JSON.parse(run.stdout) as { status: { token: string } }).status.token;
    expect(token).not.toBe(expired);
    expect(decodeClaims(token)['email']).toBe('jane@example.com');
    expect(fx.op.stats.refresh_token).toBe(1);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('a live holder makes a waiter give up after --lock-timeout with exit 11, leaving the lock alone', async () => {
    await expiredEntryWithRealRefresh();
    const lockPath = `${fx.cacheFile()}.lock`;
    holder = await holdLock(lockPath);
    const run = await runCli(fx.credentialArgs('--lock-timeout', '2'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code).toBe(11);
    expect(run.stdout).toBe('');
    expect(run.ms).toBeGreaterThanOrEqual(2_000);
    expect(run.ms).toBeLessThan(8_000);
    expect(run.stderr).toContain(`process ${String(holder.pid)}`);
    expect(run.stderr).toContain('waiting for another k8s-auth');
    expect(fx.op.stats.refresh_token).toBe(0);
    expect((JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number }).pid).toBe(holder.pid);
  });

  it('the lock timeout can come from K8S_AUTH_LOCK_TIMEOUT', async () => {
    await expiredEntryWithRealRefresh();
    holder = await holdLock(`${fx.cacheFile()}.lock`);
    const run = await runCli(fx.credentialArgs(), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false), K8S_AUTH_LOCK_TIMEOUT: '1' }));
    expect(run.code).toBe(11);
    expect(run.ms).toBeLessThan(6_000);
  });

  it('a fresh token is served while another process holds the lock (readers take no lock)', async () => {
    const real = await fx.realTokens();
    fx.writeCache(real);
    holder = await holdLock(`${fx.cacheFile()}.lock`);
    const run = await runCli(fx.credentialArgs('--lock-timeout', '1'), fx.env({ KUBERNETES_EXEC_INFO: execInfo(false) }));
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { status: { token: string } }).status.token).toBe(real.idToken);
  });
});
