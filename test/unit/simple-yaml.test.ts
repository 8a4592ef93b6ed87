import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseSimpleYaml } from '../../src/core/simple-yaml.js';

/** kubectl (sigs.k8s.io/yaml) style: sequences at the parent key's indent, plain scalars. */
const KUBECTL_STYLE = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=
    server: https://127.0.0.1:6443
  name: kind-kind
- cluster:
    insecure-skip-tls-verify: true
    server: https://prod.example.com:443/k8s/clusters/c-abc
    proxy-url: http://proxy.internal:3128
  name: prod
contexts:
- context:
    cluster: kind-kind
    user: kind-kind
  name: kind-kind
- context:
    cluster: prod
    namespace: team-a
    user: jane@example.com
  name: prod
current-context: prod
kind: Config
preferences: {}
users:
- name: kind-kind
  user:
    client-certificate-data: LS0tLS1CRUdJTg==
    client-key-data: LS0tLS1CRUdJTg==
- name: jane@example.com
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      args:
      - credential
      - prod
      - --issuer
      - https://dex.example.com/dex
      - --scopes
      - openid email groups offline_access
      command: k8s-auth
      env: null
      interactiveMode: IfAvailable
      provideClusterInfo: false
`;

describe('parseSimpleYaml', () => {
  it('reads a kubectl-written kubeconfig exactly as the yaml library does', () => {
    const simple = parseSimpleYaml(KUBECTL_STYLE);
    expect(simple).not.toBeUndefined();
    expect(simple).toEqual(parse(KUBECTL_STYLE));
  });

  it('reads what the yaml library writes (indented sequences, quoted strings)', () => {
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'ci@prod',
      clusters: [{ name: 'prod', cluster: { server: 'https://10.0.0.1:6443', 'certificate-authority-data': 'QUJD' } }],
      users: [{ name: 'ci@prod', user: { token: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln' } }],
      contexts: [{ name: 'ci@prod', context: { cluster: 'prod', user: 'ci@prod', namespace: 'default' } }],
      extra: { quoted: 'a: b', single: "it's", empty: '', yes: 'yes', truthy: 'true', hash: 'a #b' },
    };
    for (const indentSeq of [true, false]) {
      const text = stringify(doc, { indentSeq });
      const simple = parseSimpleYaml(text);
      expect(simple).toEqual(parse(text));
    }
    // strings that must be quoted come back as strings
    expect(parseSimpleYaml("a: 'true'\nb: \"x: y\"\nc: 'it''s'\n")).toEqual({ a: 'true', b: 'x: y', c: "it's" });
  });

  it('reads JSON (valid YAML) with JSON.parse', () => {
    expect(parseSimpleYaml('{"apiVersion":"v1","clusters":[]}')).toEqual({ apiVersion: 'v1', clusters: [] });
  });

  it('reads empty and comment-only documents as null, like the yaml library', () => {
    for (const text of ['', '\n\n', '# just a comment\n', '---\n']) {
      expect(parseSimpleYaml(text)).toBeNull();
      expect(parse(text)).toBeNull();
    }
  });

  it.each([
    ['anchors', 'a: &x 1\nb: *x\n'],
    ['tags', 'a: !!str 5\n'],
    ['folded block scalars', 'a: >\n  line\n'],
    ['block scalars with an indentation indicator', 'a: |2-\n    line\n'],
    ['block scalars that keep trailing newlines', 'a: |+\n  line\n\n'],
    ['block scalars starting with a blank line', 'a: |-\n\n  line\n'],
    ['an empty block scalar', 'a: |-\nb: c\n'],
    ['number-like strings', 'a: 12ab\n'],
    ['multi-line plain scalars', 'a: one\n  two\n'],
    ['flow collections', 'a: [b, c]\n'],
    ['comments after values', 'a: b # c\n'],
    ['escapes', 'a: "b\\nc"\n'],
    ['numbers', 'a: 5\n'],
    ['negative numbers', 'a: -.5\n'],
    ['duplicate keys', 'a: 1x\na: 2x\n'],
    ['tabs', 'a:\n\tb: c\n'],
    ['several documents', 'a: b\n---\nc: d\n'],
    ['quoted keys', '"a b": c\n'],
    ['a top-level scalar', 'hello\n'],
    ['bad indentation', 'a:\n    b: c\n  d: e\n'],
    ['__proto__', '__proto__: x\n'],
  ])('leaves %s to the yaml library', (_what, text) => {
    expect(parseSimpleYaml(text)).toBeUndefined();
  });

  it.each([
    ['a literal block (strip)', 'a:\n  installHint: |-\n    k8s-auth signs you in.\n\n    # not a comment\n      deeper\n  b: c\n'],
    ['a literal block (clip) in a sequence item', 'users:\n- name: x\n  hint: |\n    one\n    two\n\n- name: y\n'],
    ['a refresh token starting with a digit', 'refresh-token: 6l5Qx-abc_DEF\nother: 0xZ\n'],
  ])('reads %s exactly as the yaml library does', (_what, text) => {
    const simple = parseSimpleYaml(text);
    expect(simple).not.toBeUndefined();
    expect(simple).toEqual(parse(text));
  });

  it('never disagrees with the yaml library on what it accepts (generated documents)', () => {
    const strings = ['6l5Qx', '1e5', 'line one\nline two\n', 'a\n\nb', '#c\nd', 'x\n  y', '  lead\nx', 'end\n\n', 'v1', '--issuer', 'a: b', '#x', 'a #b', 'a#b', '1.5', '-1', '0x1F', 'true', 'True', 'no', 'null', '~', '', ' lead', 'trail ', "it's", '"dq"', 'multi\nline', 'x'.repeat(120), 'many words '.repeat(12), 'https://x:1/y?z#f', '-', '- x', '?q', ':c', '@at', '%p', 'é', '[x]', '{y}', 'a,b', '*star', '&amp', '!bang', '|pipe', '>gt', '`tick'];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const keys = ['name', 'cluster', 'user', 'server', 'args', 'token', 'a.b', 'x-y', 'k_8'];
    const value = (depth: number): unknown => {
      const pick = random(depth > 2 ? 4 : 7);
      if (pick === 0) return strings[random(strings.length)];
      if (pick === 1) return random(2) === 0;
      if (pick === 2) return null;
      if (pick === 3) return strings[random(strings.length)];
      if (pick === 4) return Array.from({ length: random(4) }, () => value(depth + 1));
      const out: Record<string, unknown> = {};
      for (let i = random(4); i >= 0; i--) out[keys[random(keys.length)] as string] = value(depth + 1);
      return out;
    };
    let accepted = 0;
    let withBlocks = 0;
    for (let i = 0; i < 600; i++) {
      const doc: Record<string, unknown> = {};
      for (let k = random(5); k >= 0; k--) doc[keys[random(keys.length)] as string] = value(0);
      const text = stringify(doc, { indentSeq: random(2) === 0 });
      const simple = parseSimpleYaml(text);
      if (simple === undefined) continue;
      accepted += 1;
      if (/: \|-?$/m.test(text)) withBlocks += 1;
      expect(simple, text).toEqual(parse(text));
    }
    // the fast path is really taken for most documents, not just declined, block scalars included
    expect(accepted).toBeGreaterThan(150);
    expect(withBlocks).toBeGreaterThan(20);
  });
});
