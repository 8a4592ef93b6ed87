// A small coverage-guided fuzzer on V8's own block coverage (node:inspector, precise coverage
// with call counts): run an input, take the coverage, keep the input in the corpus when it
// reached a block (or a new power-of-two hit count of one) no earlier input did, mutate corpus
// entries (bit flips, byte edits, chunk copies, splices, dictionary tokens), repeat until the
// time budget is spent. A target's `check` throws when the contract is broken; that input is a
// finding. Only the code under src/ (and the yaml library the parsers use) counts as coverage.
//
// Why not Jazzer.js: @jazzer.js/core 4.0.0 installs, but its prebuilt fuzzer addon needs glibc
// 2.38 (Debian 12 has 2.36), and 2.1.0 builds libFuzzer from a GitHub download, which this
// machine cannot reach. See docs/reliability.md.
import { Session } from 'node:inspector';

export interface FuzzTarget {
  name: string;
  /** What it reads, for the report. */
  reads: string;
  seeds: readonly string[];
  /** Tokens the mutator splices in (the format's syntax). */
  dictionary: readonly string[];
  /** Runs the parser on the input; throws (anything) when the contract is broken. */
  check(input: string): void;
}

export interface Finding {
  target: string;
  input: string;
  problem: string;
}

export interface FuzzReport {
  target: string;
  executions: number;
  corpus: number;
  features: number;
  ms: number;
  /** Inputs that took longer than slowMs (a parser must stay linear-ish). */
  slowest: { input: string; ms: number } | undefined;
  findings: Finding[];
}

export interface FuzzOptions {
  /** Time budget for this target. */
  ms: number;
  /** Stop after this many distinct findings. */
  maxFindings?: number;
  /** Longest input tried, in characters. */
  maxLength?: number;
  /** An input slower than this is a finding (a hang or a quadratic parser). */
  slowMs?: number;
  /** Deterministic runs for tests. */
  seed?: number;
  /** Which script URLs count as coverage. */
  cover?: (url: string) => boolean;
}

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface FunctionCoverage {
  ranges: CoverageRange[];
}
interface ScriptCoverage {
  url: string;
  functions: FunctionCoverage[];
}

function post<T>(session: Session, method: string, params?: object): T {
  let result: T | undefined;
  let failure: Error | null = null;
  // the inspector answers synchronously for a session on the same thread
  session.post(method, params ?? {}, (error, value) => {
    failure = error;
    result = value as T;
  });
  if (failure) throw failure;
  return result as T;
}

/** A seeded xorshift, so a test run is repeatable. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const INTERESTING = ['\u0000', '\u001b', '\u007f', '\u0085', '\u2028', '\ud800', '\ufeff', '\r', '\n', '\t', '"', "'", '\\', '{', '}', '[', ']', ':', ',', '-', '#', '&', '*', '!', '|', '>', '%', '@', '`', '0', '-1', '1e999', 'NaN', 'null', 'true', '__proto__', 'constructor'];

function mutate(input: string, corpus: readonly string[], dictionary: readonly string[], rnd: () => number, maxLength: number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  let out = input;
  const rounds = 1 + Math.floor(rnd() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rnd() * (out.length + 1));
    switch (Math.floor(rnd() * 9)) {
      case 0: // flip a bit of one character
        if (out.length > 0) {
          const i = Math.min(at, out.length - 1);
          out = out.slice(0, i) + String.fromCharCode(out.charCodeAt(i) ^ (1 << Math.floor(rnd() * 7))) + out.slice(i + 1);
        }
        break;
      case 1: // delete a run
        out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rnd() * 8));
        break;
      case 2: // insert a random character
        out = out.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 128)) + out.slice(at);
        break;
      case 3:
      case 4: // insert a token of the format
        out = out.slice(0, at) + pick(dictionary.length > 0 ? dictionary : INTERESTING) + out.slice(at);
        break;
      case 5: // insert an interesting character or value
        out = out.slice(0, at) + pick(INTERESTING) + out.slice(at);
        break;
      case 6: { // copy a chunk of itself elsewhere (nesting, repetition)
        const from = Math.floor(rnd() * (out.length + 1));
        const chunk = out.slice(from, from + 1 + Math.floor(rnd() * 32));
        out = out.slice(0, at) + chunk.repeat(1 + Math.floor(rnd() * 3)) + out.slice(at);
        break;
      }
      case 7: { // splice with another corpus entry
        const other = pick(corpus);
        const cut = Math.floor(rnd() * (other.length + 1));
        out = out.slice(0, at) + other.slice(cut);
        break;
      }
      default: // replace a character with a digit or a space
        if (out.length > 0) {
          const i = Math.min(at, out.length - 1);
          out = out.slice(0, i) + pick(['0', '9', ' ', '\n', 'a', 'Z']) + out.slice(i + 1);
        }
    }
  }
  return out.length > maxLength ? out.slice(0, maxLength) : out;
}

function bucket(count: number): number {
  return count <= 0 ? 0 : 31 - Math.clz32(count);
}

export const coverSources = (url: string): boolean => /\/(src|dist)\//.test(url) && !url.includes('/node_modules/') || /\/node_modules\/yaml\//.test(url);

export function fuzz(target: FuzzTarget, options: FuzzOptions): FuzzReport {
  const maxLength = options.maxLength ?? 4096;
  const slowMs = options.slowMs ?? 1000;
  const maxFindings = options.maxFindings ?? 10;
  const cover = options.cover ?? coverSources;
  const rnd = random(options.seed ?? Date.now());
  const session = new Session();
  session.connect();
  post(session, 'Profiler.enable');
  post(session, 'Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const seen = new Set<string>();
  const corpus: string[] = [];
  const findings: Finding[] = [];
  const problems = new Set<string>();
  let slowest: { input: string; ms: number } | undefined;
  let executions = 0;
  const started = performance.now();

  const run = (input: string): boolean => {
    executions += 1;
    post(session, 'Profiler.takePreciseCoverage'); // reset the counters
    const t0 = performance.now();
    let problem: string | undefined;
    try {
      target.check(input);
    } catch (error) {
      problem = error instanceof Error ? `${error.name}: ${error.message}`.split('\n')[0] : String(error);
    }
    const ms = performance.now() - t0;
    if (!slowest || ms > slowest.ms) slowest = { input, ms };
    if (problem === undefined && ms > slowMs) problem = `slow: ${Math.round(ms)} ms for ${input.length} characters`;
    const { result } = post<{ result: ScriptCoverage[] }>(session, 'Profiler.takePreciseCoverage');
    let fresh = false;
    for (const script of result) {
      if (!cover(script.url)) continue;
      for (const fn of script.functions) {
        for (const range of fn.ranges) {
          if (range.count === 0) continue;
          const feature = `${script.url}:${range.startOffset}:${range.endOffset}:${bucket(range.count)}`;
          if (!seen.has(feature)) {
            seen.add(feature);
            fresh = true;
          }
        }
      }
    }
    if (problem !== undefined) {
      // one finding per distinct problem: the message without quoted input and numbers
      const kind = problem.replace(/'[^']*'|"[^"]*"|\{.*\}|\d+/g, '_').slice(0, 200);
      if (!problems.has(kind)) {
        problems.add(kind);
        findings.push({ target: target.name, input, problem });
      }
    }
    return fresh;
  };

  try {
    for (const seed of target.seeds) if (run(seed)) corpus.push(seed);
    if (corpus.length === 0) corpus.push(...target.seeds.slice(0, 1), '');
    while (performance.now() - started < options.ms && findings.length < maxFindings) {
      const parent = corpus[Math.floor(rnd() * corpus.length)] as string;
      const child = mutate(parent, corpus, target.dictionary, rnd, maxLength);
      if (run(child)) corpus.push(child);
    }
  } finally {
    post(session, 'Profiler.stopPreciseCoverage');
    post(session, 'Profiler.disable');
    session.disconnect();
  }
  return { target: target.name, executions, corpus: corpus.length, features: seen.size, ms: Math.round(performance.now() - started), slowest, findings };
}
