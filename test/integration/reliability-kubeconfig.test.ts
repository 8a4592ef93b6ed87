// Nothing lost: concurrent writers into one kubeconfig, writers killed with SIGKILL in the middle
// of a write, and stale `<kubeconfig>.lock` files (ours from a dead process, kubectl's empty
// ones, a live holder, another host). Writers are real processes on the real code path:
// test/support/kubeconfig-writer.mjs (dist updateKubeconfig with login's setters) and the built
// CLI's `token -o kubeconfig` merge. Every loop is bounded in count and time.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, tempDir, type TempDir } from '../support/login-harness.js';
import { expectOneLineError, spawnCli } from '../support/reliability-harness.js';
import { kubectlPaths, repoRoot } from '../support/skip.js';

const WRITER = join(repoRoot, 'test', 'support', 'kubeconfig-writer.mjs');
const EMPTY = 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n';

let dir: TempDir;
let api: KubeApiDouble;

beforeAll(async () => {
  api = await startKubeApiDouble();
  dir = tempDir('k8s-auth-rel-kubeconfig-');
});
afterAll(async () => {
  await api?.close();
  dir?.remove();
});

function runWriter(args: string[], timeoutMs = 60_000): { pid: number; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>; kill: () => void } {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    }),
  );
  return { pid: child.pid ?? -1, done, kill: () => child.kill('SIGKILL') };
}

interface KubeconfigShape {
  clusters?: { name: string }[];
  users?: { name: string; user: { 'auth-provider'?: { config: Record<string, string> }; token?: string } }[];
  contexts?: { name: string; context: { cluster: string; user: string } }[];
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const leftovers = (folder: string, base: string) => readdirSync(folder).filter((n) => n.startsWith(`.${base}.`) && n.endsWith('.tmp'));

describe('concurrent writers', () => {
  it('32 writer processes merging 32 distinct entries into one kubeconfig leave 32 entries and a valid 0600 file', async () => {
    const path = dir.file('concurrent-32');
    writeFileSync(path, EMPTY, { mode: 0o644 });
    const started = Date.now();
    const writers = Array.from({ length: 32 }, (_, i) => runWriter([path, String(i), '1', '2048']));
    const results = await Promise.all(writers.map((w) => w.done));
    const elapsed = Date.now() - started;
    expect(results.map((r) => r.code), results.map((r) => r.stderr).join('')).toEqual(Array(32).fill(0));
    const doc = parse(readFileSync(path, 'utf8')) as KubeconfigShape;
    const want = Array.from({ length: 32 }, (_, i) => `w-${i}`).sort();
    expect(doc.clusters?.map((c) => c.name).sort()).toEqual(want);
    expect(doc.users?.map((u) => u.name).sort()).toEqual(want);
    expect(doc.contexts?.map((c) => c.name).sort()).toEqual(want);
    // every user kept its own token (nobody received another writer's credentials)
    for (const u of doc.users ?? []) {
      const i = Number(u.name.slice(2));
      const expected = createHash('sha256').update(`token-${i}`).digest('base64url');
      expect(u.user['auth-provider']?.config['id-token']).toContain(expected.slice(0, 20));
      expect(u.user['auth-provider']?.config['refresh-token']).toBe(`rt-${i}`);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(leftovers(dir.path, 'concurrent-32')).toEqual([]);
    process.stderr.write(`reliability: 32 concurrent writers, 32/32 entries, 0 lost, ${elapsed} ms\n`);
    const kubectl = kubectlPaths().v1_32;
    if (kubectl.available) {
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(kubectl.path, ['config', 'get-contexts', '-o', 'name', '--kubeconfig', path], { stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      expect(out.trim().split('\n').sort()).toEqual(want);
    }
  });

  it('32 `k8s-auth token -o kubeconfig` processes merging into one kubeconfig leave 32 users and contexts', async () => {
    for (let i = 0; i < 32; i++) api.seed('serviceaccounts', { metadata: { name: `ci-${i}`, namespace: 'default' } });
    const path = dir.file('token-merge-32');
    copyFileSync(api.kubeconfigPath, path);
    const before = parse(readFileSync(path, 'utf8')) as KubeconfigShape;
    const runs = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        spawnCli(['token', '--ttl', '1h', '--service-account', `ci-${i}`, '-o', 'kubeconfig', '--kubeconfig', path, '-q'], cleanEnv({ HOME: dir.file('home') }), 120_000).exited,
      ),
    );
    expect(runs.map((r) => r.code), runs.map((r) => r.stderr).join('')).toEqual(Array(32).fill(0));
    const doc = parse(readFileSync(path, 'utf8')) as KubeconfigShape;
    const want = Array.from({ length: 32 }, (_, i) => `ci-${i}@double`);
    expect(doc.contexts?.map((c) => c.name).filter((n) => n.startsWith('ci-')).sort()).toEqual([...want].sort());
    expect(doc.users?.filter((u) => u.name.startsWith('ci-')).length).toBe(32);
    // the entries that were there before are still there
    for (const c of before.contexts ?? []) expect(doc.contexts?.map((x) => x.name)).toContain(c.name);
    // each context's user holds the token minted for its own ServiceAccount
    for (const u of doc.users?.filter((x) => x.name.startsWith('ci-')) ?? []) {
      const sa = u.name.split('@')[0];
      const claims = JSON.parse(Buffer.from(String(u.user.token).split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub: string };
      expect(claims.sub).toBe(`system:serviceaccount:default:${sa}`);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});

describe('writers killed with SIGKILL mid-write', () => {
  it('leave the old or the new file, never a truncated or mixed one (bounded loop of random kills)', async () => {
    const UPDATES = 10; // enough versions to land kills mid-write, few enough to keep the loop near a minute
    const TOKEN_BYTES = 200_000;
    const ITERATIONS = 30;
    // reference run: the exact bytes after each of the updates, from the same starting file
    const reference = dir.file('kill-reference');
    writeFileSync(reference, EMPTY, { mode: 0o600 });
    const versions = new Map<string, number>([[sha(reference), 0]]);
    const log = dir.file('kill-reference.log');
    const refStarted = Date.now();
    const ref = await runWriter([reference, '0', String(UPDATES), String(TOKEN_BYTES), log]).done;
    const refMs = Date.now() - refStarted;
    expect(ref.code, ref.stderr).toBe(0);
    for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
      const [i, hash] = line.split(' ');
      versions.set(hash as string, Number(i) + 1);
    }
    expect(versions.size).toBe(UPDATES + 1);

    const seen: number[] = [];
    let staleLocks = 0;
    let tempFiles = 0;
    const deadline = Date.now() + 90_000;
    for (let n = 0; n < ITERATIONS && Date.now() < deadline; n++) {
      const path = dir.file(`kill-${n}`);
      writeFileSync(path, EMPTY, { mode: 0o600 });
      const writer = runWriter([path, '0', String(UPDATES), String(TOKEN_BYTES)]);
      const killAt = 60 + Math.random() * refMs; // node start-up ... the end of the last write
      await new Promise((r) => setTimeout(r, killAt));
      writer.kill();
      const result = await writer.done;
      const version = versions.get(sha(path));
      expect(version, `iteration ${n}: file after SIGKILL at ${Math.round(killAt)} ms is none of the ${UPDATES + 1} versions (exit ${result.code} ${result.signal})`).toBeDefined();
      seen.push(version as number);
      if (existsSync(`${path}.lock`)) staleLocks += 1;
      tempFiles += leftovers(dir.path, `kill-${n}`).length;
      // the next writer recovers the dead writer's lock and goes on from where it was
      if (existsSync(`${path}.lock`)) {
        const next = await runWriter([path, String(UPDATES), '1', '64']).done;
        expect(next.code, next.stderr).toBe(0);
        expect(existsSync(`${path}.lock`)).toBe(false);
        const doc = parse(readFileSync(path, 'utf8')) as KubeconfigShape;
        expect(doc.clusters?.length).toBe((version as number) + 1);
      }
    }
    // temp files of killed writers hold credentials: the next write removes those of dead
    // processes once they are a minute old (aged here rather than waiting)
    let swept = 0;
    for (let n = 0; n < seen.length; n++) {
      const left = leftovers(dir.path, `kill-${n}`);
      if (left.length === 0) continue;
      const old = new Date(Date.now() - 120_000);
      for (const name of left) utimesSync(join(dir.path, name), old, old);
      const next = await runWriter([dir.file(`kill-${n}`), String(UPDATES + 1), '1', '64']).done;
      expect(next.code, next.stderr).toBe(0);
      expect(leftovers(dir.path, `kill-${n}`)).toEqual([]);
      swept += left.length;
    }
    expect(swept).toBe(tempFiles);
    expect(seen.length).toBeGreaterThanOrEqual(10);
    const midWrite = seen.filter((v) => v > 0 && v < UPDATES).length;
    process.stderr.write(
      `reliability: ${seen.length} SIGKILLed writers: 0 truncated, versions seen ${JSON.stringify(seen)}, ${midWrite} killed between first and last update, ${staleLocks} stale locks recovered, ${tempFiles} temp files left behind (all removed by the next write)\n`,
    );
    expect(midWrite).toBeGreaterThan(0); // the kills did land in the middle of the sequence
  }, 180_000);
});

describe('stale and held locks on the kubeconfig (`k8s-auth token -o kubeconfig`)', () => {
  const mint = (path: string, sa = 'ci') => spawnCli(['token', '--ttl', '1h', '--service-account', sa, '-o', 'kubeconfig', '--kubeconfig', path, '-q'], cleanEnv({ HOME: dir.file('home') }), 60_000).exited;
  const fresh = (name: string): string => {
    api.seed('serviceaccounts', { metadata: { name: 'ci', namespace: 'default' } });
    const path = dir.file(name);
    copyFileSync(api.kubeconfigPath, path);
    return path;
  };
  const contexts = (path: string) => ((parse(readFileSync(path, 'utf8')) as KubeconfigShape).contexts ?? []).map((c) => c.name);

  it('a lock left by a dead k8s-auth process is recovered at once', async () => {
    const path = fresh('lock-dead-pid');
    // a pid that existed and is gone: a child that already exited
    const gone = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => gone.on('close', r));
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: gone.pid, host: hostname(), createdAt: new Date().toISOString() }));
    const run = await mint(path);
    expect(run.code, run.stderr).toBe(0);
    expect(run.ms).toBeLessThan(5_000);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(contexts(path)).toContain('ci@double');
  });

  it("an empty lock (kubectl's kind) older than 30 s is recovered", async () => {
    const path = fresh('lock-empty-old');
    writeFileSync(`${path}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${path}.lock`, old, old);
    const run = await mint(path);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(contexts(path)).toContain('ci@double');
  });

  it('a fresh empty lock (kubectl writing right now), a live holder, and a fresh lock from another host: exit 11 after the 10 s lock timeout, one line naming the holder, file untouched, their lock left alone', async () => {
    const sleeper = spawn('sleep', ['60']);
    try {
      const cases = [
        { name: 'lock-empty-fresh', content: '', message: /is locked by another process \(kubectl\?\)/ },
        { name: 'lock-live', content: JSON.stringify({ pid: sleeper.pid, host: hostname(), createdAt: new Date().toISOString() }), message: new RegExp(`is locked by process ${sleeper.pid} on `) },
        { name: 'lock-other-host', content: JSON.stringify({ pid: 1, host: 'build-agent-7', createdAt: new Date().toISOString() }), message: /is locked by process 1 on build-agent-7/ },
      ].map((c) => {
        const path = fresh(c.name);
        writeFileSync(`${path}.lock`, c.content);
        return { ...c, path, before: sha(path), lockBefore: readFileSync(`${path}.lock`, 'utf8') };
      });
      const runs = await Promise.all(cases.map((c) => mint(c.path)));
      runs.forEach((run, i) => {
        const c = cases[i] as (typeof cases)[number];
        expect(run.code, run.stderr).toBe(11);
        expectOneLineError(run.stderr, { message: c.message });
        expect(run.stderr).toMatch(/for more than 10s: wait for it to finish, or remove the lock file if nothing is running/);
        expect(run.ms).toBeGreaterThanOrEqual(9_500);
        expect(run.ms).toBeLessThan(20_000);
        expect(sha(c.path)).toBe(c.before);
        expect(readFileSync(`${c.path}.lock`, 'utf8')).toBe(c.lockBefore);
      });
    } finally {
      sleeper.kill('SIGKILL');
    }
  }, 60_000);
});
