// The line-by-line kubeconfig edit (issue 16, a 1,000-context file): the full Document path is
// the oracle. For each file and edit, the spliced text must read back exactly as the full parse
// + render reads, and every line out of scope must stay byte for byte.
import { describe, expect, it } from 'vitest';
import { type Document, parse, parseDocument } from 'yaml';
import { checkKubeconfig, oidcAuthProviderUser, renderKubeconfig, setCluster, setContext, setCurrentContext, setUser } from '../../src/core/kubeconfig-merge.js';
import { editInScope, splitKubeconfig, type KubeconfigScope } from '../../src/core/kubeconfig-splice.js';

const KUBECTL_STYLE = `apiVersion: v1
# clusters first, as kubectl writes them
clusters:
- cluster:
    certificate-authority-data: QUJD
    server: https://a.example:6443
  name: a
- cluster:
    server: https://b.example:6443
    tls-server-name: b.internal
  name: b
contexts:
- context:
    cluster: a
    namespace: team-a
    user: jane@a
  name: a
- context:
    cluster: b
    user: jane@b
  name: b
current-context: a
kind: Config
preferences: {}
users:
- name: jane@a
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      args:
      - credential
      - a
      command: k8s-auth
      env:
      - name: FOO
        value: bar
- name: jane@b
  user:
    token: abc # a comment the full path may move
`;

const INDENTED = `apiVersion: v1
kind: Config
clusters:
  - name: a
    cluster:
      server: https://a.example:6443
users:
  - name: jane@a
    user:
      token: t
contexts:
  - name: a
    context:
      cluster: a
      user: jane@a
`;

function full(text: string, mutate: (doc: Document) => void): string {
  const doc = parseDocument(text);
  checkKubeconfig(doc, 'test');
  mutate(doc);
  return renderKubeconfig(doc, text);
}

const login = (cluster: string, user: string, context: string, current: boolean) => (doc: Document) => {
  setCluster(doc, cluster, { server: `https://${cluster}.new:6443`, caData: 'TkVX' });
  setUser(doc, user, oidcAuthProviderUser({ issuerUrl: 'https://dex.example/dex', clientId: 'k8s', idToken: 'eyJ.x.y', refreshToken: 'rt' }));
  setContext(doc, context, { cluster, user });
  if (current) setCurrentContext(doc, context);
};
const scopeOf = (cluster: string, user: string, context: string): KubeconfigScope => ({ clusters: [cluster], users: [user], contexts: [context] });

function checkAgainstFull(text: string, scope: KubeconfigScope, mutate: (doc: Document) => void): string {
  const spliced = editInScope(text, scope, mutate, 'test');
  expect(spliced, 'the splice declined').toBeDefined();
  expect(parse(spliced as string)).toEqual(parse(full(text, mutate)));
  return spliced as string;
}

describe('editInScope reads back as the full parse and render', () => {
  it('updates an existing cluster, user and context; every other line stays byte for byte', () => {
    const out = checkAgainstFull(KUBECTL_STYLE, scopeOf('b', 'jane@b', 'b'), login('b', 'jane@b', 'b', false));
    const kept = KUBECTL_STYLE.split('\n').filter((l) => !/b\.example|tls-server-name|jane@b|token: abc|^ {4}cluster: b$/.test(l));
    for (const line of kept) expect(out.split('\n')).toContain(line);
    // the namespace a user chose stays; what the edit did not name is untouched (comments included)
    expect(out).toContain('# clusters first, as kubectl writes them');
    expect(out).toContain('    tls-server-name: b.internal');
    expect(out.indexOf('name: a')).toBeLessThan(out.indexOf('https://b.new:6443'));
  });

  it('adds new entries at the end of each section and sets current-context where it is', () => {
    const out = checkAgainstFull(KUBECTL_STYLE, scopeOf('c', 'jane@c', 'c'), login('c', 'jane@c', 'c', true));
    expect(out).toContain('current-context: c\nkind: Config');
    expect(out.indexOf('https://c.new:6443')).toBeGreaterThan(out.indexOf('tls-server-name: b.internal'));
    const contextC = out.indexOf('- name: c\n  context:');
    expect(contextC).toBeGreaterThan(out.indexOf('  name: b\n'));
    expect(contextC).toBeLessThan(out.indexOf('current-context: c'));
    expect(out).toContain('    token: abc # a comment the full path may move');
  });

  it('keeps the indented list style of a file that uses it', () => {
    const out = checkAgainstFull(INDENTED, scopeOf('b', 'jane@b', 'b'), login('b', 'jane@b', 'b', true));
    expect(out).toMatch(/\n {2}- name: b\n {4}cluster:\n/);
    expect(out.startsWith('apiVersion: v1\nkind: Config\nclusters:\n  - name: a\n')).toBe(true);
    expect(out.endsWith('current-context: b\n')).toBe(true);
  });

  it('an empty scope edits only top-level keys (current-context added, then replaced)', () => {
    const without = KUBECTL_STYLE.replace('current-context: a\n', '');
    const added = checkAgainstFull(without, {}, (doc) => setCurrentContext(doc, 'b'));
    expect(added).toBe(`${without}current-context: b\n`);
    expect(checkAgainstFull(KUBECTL_STYLE, {}, (doc) => setCurrentContext(doc, 'b'))).toBe(KUBECTL_STYLE.replace('current-context: a', 'current-context: b'));
  });

  it('a file with `users: []` and no contexts section gets them', () => {
    const sparse = 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\n';
    checkAgainstFull(sparse, scopeOf('x', 'jane@x', 'x'), login('x', 'jane@x', 'x', true));
  });

  it('400 contexts: the same as the full path, and the other 399 entries of each section byte for byte', () => {
    const n = 400;
    const lines = ['apiVersion: v1', 'clusters:'];
    for (let i = 0; i < n; i++) lines.push('- cluster:', `    server: https://c${i}.example:6443`, `  name: c${i}`);
    lines.push('contexts:');
    for (let i = 0; i < n; i++) lines.push('- context:', `    cluster: c${i}`, `    user: u${i}`, `  name: c${i}`);
    lines.push('current-context: c0', 'kind: Config', 'preferences: {}', 'users:');
    for (let i = 0; i < n; i++) lines.push(`- name: u${i}`, '  user:', `    token: t${i}`);
    const text = `${lines.join('\n')}\n`;
    const out = checkAgainstFull(text, scopeOf('c500', 'u500', 'c500'), login('c500', 'u500', 'c500', true));
    const changed = out.split('\n').filter((l) => !text.split('\n').includes(l));
    expect(changed.length).toBeLessThan(20);
  });
});

describe('layouts the splice declines (the full path takes them)', () => {
  it.each([
    ['an anchor and alias', 'clusters:\n- cluster: &c\n    server: https://a\n  name: a\n- cluster: *c\n  name: b\n'],
    ['a tab', 'clusters:\n- cluster:\n\tserver: https://a\n  name: a\n'],
    ['CRLF line ends', 'clusters:\r\n- name: a\r\n'],
    ['two documents', 'apiVersion: v1\n---\nkind: Config\n'],
    ['a quoted top-level key', '"clusters":\n- name: a\n'],
    ['duplicate names', 'users:\n- name: a\n  user: {}\n- name: a\n  user: {}\n'],
    ['an item without a name', 'users:\n- user:\n    token: t\n'],
    ['a name that YAML reads as a number', 'users:\n- name: 10.0.0.1\n  user: {}\n'],
    ['a tag', 'users:\n- name: a\n  user: !secret x\n'],
    ['a duplicated top-level key', 'kind: Config\nkind: Config\n'],
  ])('%s', (_what, text) => {
    expect(splitKubeconfig(text)).toBeUndefined();
    expect(editInScope(text, {}, () => undefined, 'test')).toBeUndefined();
  });

  it('reads item names in plain and simple quoted form', () => {
    const layout = splitKubeconfig('users:\n- name: "jane@example.com@lab"\n  user: {}\n- user: {}\n  name: \'b\'\n');
    expect(layout?.blocks[0]?.items?.map((i) => i.name)).toEqual(['jane@example.com@lab', 'b']);
  });
});
