// Issue 19, point 2: one kubeconfig path rule. Every reader and writer (the narrow target reader,
// the kubeconfig writer, the Kubernetes client, completion, doctor) calls core/kubeconfig-paths.ts;
// this fails when a file spells ~/.kube/config or splits $KUBECONFIG itself again.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('one kubeconfig path rule', () => {
  it('only core/kubeconfig-paths.ts builds ~/.kube/config or splits KUBECONFIG', () => {
    const offenders = files(SRC)
      .filter((f) => !f.endsWith(join('core', 'kubeconfig-paths.ts')))
      .filter((f) => {
        const text = readFileSync(f, 'utf8');
        return /'\.kube',\s*'config'/.test(text) || /\[['"]KUBECONFIG['"]\][^;\n]*\.split\(/.test(text) || /\.env\.KUBECONFIG[^;\n]*\.split\(/.test(text);
      })
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });
});
