import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, readHolder, withLock } from '../../src/adapters/file-lock.js';
import { CliError, ExitCode } from '../../src/errors.js';

function tempLockPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'k8s-auth-lock-')), 'config.lock');
}

describe('acquireLock', () => {
  it('creates the lock with our pid and removes it on release', async () => {
    const path = tempLockPath();
    const release = await acquireLock(path, { timeoutMs: 1000 });
    expect(readHolder(path)).toMatchObject({ pid: process.pid, host: hostname() });
    release();
    expect(existsSync(path)).toBe(false);
  });

  it('makes a second taker wait until the first releases', async () => {
    const path = tempLockPath();
    const order: string[] = [];
    const release = await acquireLock(path, { timeoutMs: 1000 });
    let waited = false;
    const second = withLock(path, { timeoutMs: 5000, onWait: () => (waited = true) }, async () => {
      order.push('second');
    });
    await new Promise((r) => setTimeout(r, 100));
    order.push('first-done');
    release();
    await second;
    expect(waited).toBe(true);
    expect(order).toEqual(['first-done', 'second']);
  });

  it('gives up after the timeout with LOCK_TIMEOUT naming the holder', async () => {
    const path = tempLockPath();
    const release = await acquireLock(path, { timeoutMs: 1000 });
    const started = Date.now();
    const error = await acquireLock(path, { timeoutMs: 300, description: 'kubeconfig /x' }).catch((e: unknown) => e);
    release();
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.LOCK_TIMEOUT);
    expect((error as CliError).message).toContain(`process ${process.pid}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('recovers a lock whose holder was killed (SIGKILL)', async () => {
    const path = tempLockPath();
    // A child takes the lock the same way we do, then is killed before it can release it.
    const child = spawn(process.execPath, ['-e', `
      const fs = require('node:fs');
      const fd = fs.openSync(${JSON.stringify(path)}, 'wx', 0o600);
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, host: require('node:os').hostname(), createdAt: new Date().toISOString() }));
      fs.closeSync(fd);
      process.stdout.write('locked');
      setInterval(() => {}, 1000);
    `]);
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readHolder(path)?.pid).toBe(child.pid);
    const started = Date.now();
    const release = await acquireLock(path, { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(readHolder(path)?.pid).toBe(process.pid);
    release();
  });

  it('treats an empty kubectl-style lock as stale only once it is old', async () => {
    const path = tempLockPath();
    writeFileSync(path, '');
    const fresh = await acquireLock(path, { timeoutMs: 200, staleAfterMs: 60_000 }).catch((e: unknown) => e);
    expect((fresh as CliError).exitCode).toBe(ExitCode.LOCK_TIMEOUT);
    expect((fresh as CliError).message).toContain('another process (kubectl?)');
    const old = (Date.now() - 120_000) / 1000;
    utimesSync(path, old, old);
    const release = await acquireLock(path, { timeoutMs: 1000, staleAfterMs: 60_000 });
    expect(readFileSync(path, 'utf8')).toContain(String(process.pid));
    release();
  });

  it('waits past the timeout while holders take the lock in turn (the clock restarts per holder), up to 6 timeouts in all', async () => {
    const path = tempLockPath();
    // a relay of holders, each keeping the lock 150 ms (under the 300 ms timeout), for 600 ms in all
    const relay = (async () => {
      for (let i = 0; i < 4; i++) {
        const release = await acquireLock(path, { timeoutMs: 1000 });
        await new Promise((r) => setTimeout(r, 150));
        release();
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    const waiter = await acquireLock(path, { timeoutMs: 300 }).then((release) => (release(), 'got it'), (e: unknown) => e);
    await relay;
    // each relay holder re-takes the lock in the same tick it released it, so the waiter only got
    // in after the last one: about 580 ms, beyond its own 300 ms timeout and within 6 × 300 ms
    expect(waiter).toBe('got it');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(1800);

    // an endless relay: the waiter gives up at 6 × its timeout, saying the lock was taken in turn
    let stop = false;
    const endless = (async () => {
      while (!stop) {
        const release = await acquireLock(path, { timeoutMs: 5000 });
        await new Promise((r) => setTimeout(r, 100));
        release();
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    const outcome = await acquireLock(path, { timeoutMs: 250, description: 'kubeconfig /x' }).then((release) => (release(), 'got it'), (e: unknown) => e);
    const waited = Date.now() - t0;
    stop = true;
    await endless;
    expect(outcome).toBeInstanceOf(CliError);
    expect((outcome as CliError).exitCode).toBe(ExitCode.LOCK_TIMEOUT);
    expect((outcome as CliError).message).toMatch(/^kubeconfig \/x was taken in turn by other processes for more than 2s \(now process \d+ on /);
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(4000);
  });

  it('lets exactly one of many concurrent takers in at a time', async () => {
    const path = tempLockPath();
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 12 }, () =>
        withLock(path, { timeoutMs: 10_000 }, async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside -= 1;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(existsSync(path)).toBe(false);
  });
});
