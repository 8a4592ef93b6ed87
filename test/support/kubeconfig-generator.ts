// Generated kubeconfigs for the layout tests (test/unit/kubeconfig-layout.test.ts,
// kubeconfig-relayout.test.ts): the shapes kubectl and we write, and a few the scan must decline.
import { SECTIONS } from '../../src/core/kubeconfig-layout.js';

/** A small deterministic generator (an LCG): the same files on every run. */
export function random(seed: number): { chance(p: number): boolean; pick<T>(list: readonly T[]): T } {
  let state = seed;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  return { chance: (p) => next() < p, pick: (list) => list[Math.floor(next() * list.length)] as (typeof list)[number] };
}

/** Field lines an item's inner mapping may hold: plain values, lists, block scalars, text with `&&`. */
const FIELDS: readonly (readonly string[])[] = [
  ['server: https://a.example:6443'],
  ['token: a & b'],
  ['insecure-skip-tls-verify: true', 'tls-server-name: x.internal'],
  ['exec:', '  apiVersion: client.authentication.k8s.io/v1', '  args:', '  - credential', '  - prod', '  command: k8s-auth', '  env:', '  - name: FOO', '    value: bar'],
  ['installHint: |', '  run a && b', '  !not a tag', '', '  *not an alias'],
  ['installHint: >-', '  folded', '  text'],
  ['installHint: |  ', '  a header with trailing spaces'],
  ['installHint: | # why', '  a header with a comment'],
  ['note: "a: |"'],
  ['name: inner'],
  ['list:', '- a', '- b'],
];

export function generateKubeconfig(seed: number): string {
  const { chance, pick } = random(seed);
  const list = chance(0.3) ? '  ' : '';
  const out: string[] = [];
  if (chance(0.2)) out.push('# a leading comment', '');
  out.push('apiVersion: v1');
  const names = Array.from({ length: 1 + (seed % 4) }, (_, i) => pick([`a${i}`, `prod-${i}`, `jane@example.com@prod${i}`, `"quoted@x${i}"`, `'single${i}'`, `arn:aws:eks:eu-west-1:1:cluster/x${i}`, 'dup']));
  for (const section of [...SECTIONS].sort(() => (chance(0.5) ? 1 : -1))) {
    if (chance(0.05)) {
      out.push(`${section}: []`);
      continue;
    }
    out.push(`${section}:${chance(0.05) ? ' # why' : ''}`);
    if (chance(0.1)) out.push('# before the first item');
    const inner = section.slice(0, -1);
    for (const name of names) {
      const fields = pick(FIELDS).map((l) => `${list}    ${l}`);
      if (chance(0.5)) out.push(`${list}- name: ${name}`, `${list}  ${inner}:`, ...fields);
      else out.push(`${list}- ${inner}:`, ...fields, `${list}  name: ${name}`);
      if (chance(0.15)) out.push(pick(['', '# between items', `${list}  # an indented comment`]));
    }
  }
  if (chance(0.7)) out.push(`current-context: ${names[0]}`);
  if (chance(0.5)) out.push('kind: Config');
  if (chance(0.3)) out.push('preferences: {}');
  if (chance(0.1)) out.push('extensions:', '- name: e', '  extension: {}');
  return out.join('\n') + (chance(0.85) ? '\n' : '');
}

