// Shared checks of the reliability and security tests: a snapshot of every file under a
// directory (bytes, mtime, mode) to prove "nothing changed", the one-line error contract, and a
// --browser-command that records the URL it was given (and its own command line) instead of
// opening anything.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { cliEntry } from './run-cli.js';
import { repoRoot } from './skip.js';

export interface FileState {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  sha256?: string;
  size: number;
  mtimeMs: number;
  mode: number;
}

export type TreeSnapshot = Map<string, FileState>;

/** Every entry under `root` (recursively), keyed by path relative to root. */
export function snapshotTree(root: string): TreeSnapshot {
  const out: TreeSnapshot = new Map();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const key = rel ? `${rel}/${name}` : name;
      const st = lstatSync(path);
      const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      const state: FileState = { kind, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
      if (kind === 'file') state.sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
      out.set(key, state);
      if (kind === 'dir') walk(path, key);
    }
  };
  if (existsSync(root)) walk(root, '');
  return out;
}

/** Differences between two snapshots, as readable lines (empty when identical). */
export function diffTrees(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const lines: string[] = [];
  for (const [key, b] of before) {
    const a = after.get(key);
    if (!a) lines.push(`removed ${key}`);
    else if (a.kind !== b.kind || a.sha256 !== b.sha256 || a.size !== b.size || a.mode !== b.mode) lines.push(`changed ${key}`);
    else if (a.kind === 'file' && a.mtimeMs !== b.mtimeMs) lines.push(`touched ${key} (mtime)`);
  }
  for (const key of after.keys()) if (!before.has(key)) lines.push(`created ${key}`);
  return lines;
}

/** The non-empty lines of a stream's text. */
export function nonEmptyLines(text: string): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
}

export interface OneLineExpectation {
  /** what the `error:` line must match */
  message: RegExp;
  /** the CLI's design prints a `hint:` line for this error: what it must match */
  hint?: RegExp;
}

/**
 * The error contract: exactly one non-empty stderr line `error: …` (plus `hint: …` only where
 * the CLI's design prints one), never a stack trace. Returns the error line.
 */
export function expectOneLineError(stderr: string, expectation: OneLineExpectation): string {
  const lines = nonEmptyLines(stderr);
  const expected = expectation.hint ? 2 : 1;
  expect(lines, `stderr was:\n${stderr}`).toHaveLength(expected);
  const [first = '', second = ''] = lines;
  expect(first).toMatch(/^error: /);
  expect(first).toMatch(expectation.message);
  if (expectation.hint) {
    expect(second).toMatch(/^hint: /);
    expect(second).toMatch(expectation.hint);
  }
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/); // no stack frames
  return first;
}

/**
 * Writes a tiny --browser-command into `dir`: it appends the URL it was given (its last
 * argument) to $CAPTURE_FILE, with its own /proc/self/cmdline and its parent's, as JSON lines,
 * and exits 0. The CLI runs it without a shell.
 */
export function writeUrlCaptureCommand(dir: string): { command: string; script: string } {
  const script = join(dir, 'capture-url.mjs');
  writeFileSync(
    script,
    [
      "import { appendFileSync, readFileSync } from 'node:fs';",
      'const read = (p) => { try { return readFileSync(p, "utf8").split("\\0").filter(Boolean); } catch { return []; } };',
      'const url = process.argv[process.argv.length - 1];',
      'const record = { url, pid: process.pid, ppid: process.ppid, cmdline: read("/proc/self/cmdline"), parentCmdline: read(`/proc/${process.ppid}/cmdline`) };',
      'appendFileSync(process.env.CAPTURE_FILE, JSON.stringify(record) + "\\n");',
      '',
    ].join('\n'),
  );
  return { command: `${process.execPath} ${script}`, script };
}

export interface CapturedOpen {
  url: string;
  pid: number;
  ppid: number;
  cmdline: string[];
  parentCmdline: string[];
}

export function readCaptured(file: string): CapturedOpen[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CapturedOpen);
}

/** Polls until `file` holds at least one captured URL (bounded). */
export async function waitForCaptured(file: string, timeoutMs = 20_000): Promise<CapturedOpen> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [first] = readCaptured(file);
    if (first) return first;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no URL captured in ${file} within ${timeoutMs} ms`);
}

export interface SpawnedCli {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>;
  stderr(): string;
  signal(name: NodeJS.Signals): void;
}

/** The built CLI in the background (bounded by `timeoutMs`, then SIGKILL). */
/**
 * Root reads any file whatever its mode (CAP_DAC_OVERRIDE). To see what a user sees on a
 * chmod 000 file, run the CLI with those two capabilities dropped from its bounding set (uid
 * stays 0, so the checkout stays readable wherever it is). Empty when not root.
 */
export function withoutFileOverride(): string[] {
  return process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search'] : [];
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000, stdin?: string, launcher: readonly string[] = []): SpawnedCli {
  const started = performance.now();
  const [command, ...prefix] = [...launcher, process.execPath];
  const child = spawn(command as string, [...prefix, cliEntry, ...args], { env, cwd: repoRoot, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (stdin !== undefined) child.stdin?.end(stdin);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  return { pid: child.pid ?? -1, exited, stderr: () => stderr, signal: (name) => child.kill(name) };
}
