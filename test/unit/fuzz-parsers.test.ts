// A short, bounded run of the parser fuzzing inside the test suite (`npm run fuzz` runs the same
// targets for 60 s each): every target of test/fuzz/targets.ts under the coverage-guided engine
// for 1.5 s with a fixed seed, and the same contracts as fast-check properties over generated
// strings and JSON values. A finding fails the test and prints the input.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../fuzz/engine.js';
import { TARGETS } from '../fuzz/targets.js';

describe('parser fuzzing (bounded)', () => {
  for (const target of TARGETS) {
    it(`${target.name}: coverage-guided, 1.5 s, no finding`, () => {
      const report = fuzz(target, { ms: 1500, seed: 42 });
      expect(report.executions).toBeGreaterThan(target.seeds.length);
      expect(report.features).toBeGreaterThan(0);
      expect(report.findings.map((f) => `${f.problem} for ${JSON.stringify(f.input)}`)).toEqual([]);
    }, 30_000);

    it(`${target.name}: fast-check properties, 300 strings and 200 JSON texts`, () => {
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 512 }), (input) => target.check(input)), { numRuns: 300, seed: 42 });
      fc.assert(fc.property(fc.json({ maxDepth: 4 }), (input) => target.check(input)), { numRuns: 200, seed: 42 });
    }, 30_000);
  }
});

describe('found by the fuzzer, and fixed', () => {
  it('the narrow YAML reader declines Unicode whitespace the yaml library reads otherwise (key\\u2028: was read as key)', async () => {
    const { parseSimpleYaml } = await import('../../src/core/simple-yaml.js');
    expect(parseSimpleYaml('key\u2028: |-\n  one\n  two\nnext: x\n')).toBeUndefined();
    expect(parseSimpleYaml('\r')).toBeUndefined();
    expect(parseSimpleYaml('a\u00a0: b\n')).toBeUndefined();
    // CRLF files are still read, and mean what the yaml library says
    expect(parseSimpleYaml('a: b\r\nc: d\r\n')).toEqual({ a: 'b', c: 'd' });
  });

  it('the narrow YAML reader declines a literal block with a line of spaces, and a tab-indented blank line (the yaml library keeps the spaces / refuses the tab)', async () => {
    const { parseSimpleYaml } = await import('../../src/core/simple-yaml.js');
    expect(parseSimpleYaml('k: |\n  a\n   \n  b\n')).toBeUndefined(); // yaml: "a\n \nb\n"
    expect(parseSimpleYaml('k: |\n  a\n\n    \nn: x\n')).toBeUndefined(); // yaml: "a\n\n  \n"
    expect(parseSimpleYaml('a: \n\t')).toBeUndefined(); // yaml: "Tabs are not allowed as indentation"
    // what the yaml library itself writes (empty lines without spaces) is still read
    expect(parseSimpleYaml('k: |\n  a\n\n  b\nn: x\n')).toEqual({ k: 'a\n\nb\n', n: 'x' });
  });

  it('a duration with a newline in it gives a one-line error (--ttl $\'12N\\nsaN0\')', async () => {
    const { parseDuration } = await import('../../src/core/duration.js');
    expect(() => parseDuration('12N\nsaN0\ns', '--ttl')).toThrow(/^--ttl '12N\\u000asaN0\\u000as' is not a duration/);
    expect(() => parseDuration('1\nhInfinity')).toThrow(/^[^\n]*$/);
    expect(parseDuration(' 1h30m\n')).toBe(5400);
  });
});
