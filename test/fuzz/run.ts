// `npm run fuzz`: the coverage-guided fuzzer (engine.ts) over every parser of targets.ts, each
// for a fixed time (default 60 s; `-- --seconds N`, `-- --target NAME`). Prints one line per
// target and every finding (the input as JSON), writes the findings to a temp directory, and
// exits 1 when there are any. Bounded: targets × seconds, nothing else.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzz } from './engine.js';
import { TARGETS } from './targets.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? undefined : process.argv[at + 1];
}

const seconds = Number(option('seconds') ?? process.env['K8S_AUTH_FUZZ_SECONDS'] ?? 60);
const only = option('target');
const seed = option('seed') === undefined ? Date.now() : Number(option('seed'));
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write('error: --seconds must be a positive number\n');
  process.exit(2);
}
const targets = only ? TARGETS.filter((t) => t.name === only) : TARGETS;
if (targets.length === 0) {
  process.stderr.write(`error: no target '${only}': one of ${TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}

// the yaml library warns on stderr about odd directives in fuzzed input: not ours to print
process.removeAllListeners('warning');
process.stdout.write(`fuzzing ${targets.length} target(s), ${seconds} s each, seed ${seed}\n`);
let total = 0;
const out = mkdtempSync(join(tmpdir(), 'k8s-auth-fuzz-'));
for (const target of targets) {
  const report = fuzz(target, { ms: seconds * 1000, seed });
  const slow = report.slowest ? `, slowest ${report.slowest.ms.toFixed(1)} ms (${report.slowest.input.length} chars)` : '';
  process.stdout.write(`${target.name}: ${report.executions} runs, corpus ${report.corpus}, ${report.features} coverage features, ${report.findings.length} finding(s)${slow}  [${target.reads}]\n`);
  for (const [i, finding] of report.findings.entries()) {
    total += 1;
    const file = join(out, `${target.name}-${i + 1}.txt`);
    writeFileSync(file, finding.input);
    process.stdout.write(`  FINDING ${finding.problem}\n    input ${JSON.stringify(finding.input).slice(0, 400)}\n    saved ${file}\n`);
  }
}
process.stdout.write(total === 0 ? 'no findings\n' : `${total} finding(s), inputs in ${out}\n`);
process.exitCode = total === 0 ? 0 : 1;
