// Readers that parse only what they look at (issue 16): the kubeconfig line layout with block
// scalars, the scoped kubeconfig lookups and the one-entry catalog cut. The full yaml parse is the
// oracle: each scoped answer must equal what the whole file says, and anything outside the plain
// layout must fall back (answer undefined, or read the whole file).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeconfigFileView, readMergedKubeconfig } from '../../src/adapters/kubeconfig-read.js';
import { catalogEntryText } from '../../src/core/catalog-file.js';
import { scopedText, splitKubeconfig } from '../../src/core/kubeconfig-layout.js';
import { editInScope } from '../../src/core/kubeconfig-splice.js';
import { setUser } from '../../src/core/kubeconfig-merge.js';

const EXEC_USERS = `apiVersion: v1
kind: Config
clusters:
  - name: a
    cluster:
      server: https://a.example:6443
users:
  - name: jane@a
    user:
      exec:
        command: k8s-auth
        args:
          - credential
          - a
        installHint: |-
          k8s-auth is not on your PATH.
          Install it: npm ci && npm install --global .
            (indented *more* & !kept)
        interactiveMode: IfAvailable
  - name: joe@a
    user:
      token: t-joe
contexts:
  - name: a
    context:
      cluster: a
      user: jane@a
current-context: a
`;

describe('kubeconfig layout', () => {
  it('reads block scalar content as text: && * ! inside an installHint keep the plain layout', () => {
    const layout = splitKubeconfig(EXEC_USERS);
    expect(layout).toBeDefined();
    const users = layout?.blocks.find((b) => b.key === 'users');
    expect(users?.items?.map((i) => i.name)).toEqual(['jane@a', 'joe@a']);
    const scoped = parse(scopedText(layout!, { users: ['jane@a'] })) as { users: unknown[] };
    expect(scoped.users).toEqual([(parse(EXEC_USERS) as { users: unknown[] }).users[0]]);
  });

  it('still refuses anchors and aliases outside block scalars, keep chomping and # lines inside one', () => {
    expect(splitKubeconfig(EXEC_USERS.replace('token: t-joe', 'token: &t t-joe'))).toBeUndefined();
    expect(splitKubeconfig(EXEC_USERS.replace('installHint: |-', 'installHint: |+'))).toBeUndefined();
    expect(splitKubeconfig(EXEC_USERS.replace('k8s-auth is not on', '# k8s-auth is not on'))).toBeUndefined();
  });

  it('edits an exec user line by line (the write no longer falls back to the full parse)', () => {
    const out = editInScope(EXEC_USERS, { users: ['joe@a'] }, (doc) => setUser(doc, 'joe@a', { token: 't-new' }), 'test');
    expect(out).toBeDefined();
    const before = parse(EXEC_USERS) as { users: Array<{ user: unknown }> };
    const after = parse(out!) as { users: Array<{ user: unknown }> };
    expect(after.users[1]?.user).toEqual({ token: 't-new' });
    expect(after.users[0]).toEqual(before.users[0]);
  });
});

describe('scoped kubeconfig lookups', () => {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-scoped-'));
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('answers as the whole file does, for the plain layout and for one the narrow reader declines', () => {
    const plain = file('plain', EXEC_USERS);
    // a flow mapping and an alias: not the plain layout, so the whole file goes through the yaml library
    const odd = file('odd', EXEC_USERS.replace('      token: t-joe', '      token: &tok t-joe\n      username: *tok').replace('    cluster:\n      server: https://a.example:6443', '    cluster: {server: "https://a.example:6443"}'));
    for (const path of [plain, odd]) {
      const whole = parse(EXEC_USERS) as { users: Array<{ name: string; user: unknown }>; contexts: Array<{ context: unknown }> };
      const merged = readMergedKubeconfig([path]);
      expect(merged.currentContext).toBe('a');
      expect(merged.find('users', 'jane@a')?.value).toEqual(whole.users[0]?.user);
      expect(merged.find('contexts', 'a')?.value).toEqual(whole.contexts[0]?.context);
      expect(merged.find('clusters', 'a')?.value).toEqual({ server: 'https://a.example:6443' });
      expect(merged.find('users', 'nobody@a')).toBeUndefined();
    }
    expect(readMergedKubeconfig([odd]).find('users', 'joe@a')?.value).toEqual({ token: 't-joe', username: 't-joe' });
  });

  it('names the users of a section and checks the items a login writes', () => {
    const view = KubeconfigFileView.open(file('names', EXEC_USERS));
    expect(view?.names('users', (n) => n.endsWith('@a'))).toEqual(['jane@a', 'joe@a']);
    const broken = KubeconfigFileView.open(file('broken', EXEC_USERS.replace('      token: t-joe', '      token: [t-joe')));
    expect(() => broken?.check({ users: ['joe@a'] })).toThrow(/not valid YAML/);
    expect(() => KubeconfigFileView.open(file('list', 'clusters: 5\n'))).toThrow(/'clusters' must be a list/);
    expect(KubeconfigFileView.open(join(dir, 'missing'))).toBeUndefined();
  });
});

describe('catalog entry cut', () => {
  const catalog = `# the fleet
clusters:
  lab:
    server: https://lab.example:6443
    issuer-url: https://dex.example
  lab.eu:
    server: https://lab-eu.example:6443
    # a comment inside

    issuer-url: https://dex.example
  prod:
    server: https://prod.example:6443
`;

  it('cuts out exactly the entry the whole file has', () => {
    for (const name of ['lab', 'lab.eu', 'prod']) {
      const text = catalogEntryText(catalog, name);
      expect(text).toBeDefined();
      const whole = parse(catalog) as { clusters: Record<string, unknown> };
      expect(parse(text!)).toEqual({ clusters: { [name]: whole.clusters[name] } });
    }
  });

  it('cuts an entry on the last line without a newline, and one named by a longer name\'s prefix', () => {
    expect(catalogEntryText('clusters:\n  lab:\n    server: x', 'lab')).toBe('clusters:\n  lab:\n    server: x\n');
    expect(catalogEntryText('clusters:\n  lab-2:\n    server: y\n  lab:\n    server: x\n', 'lab')).toBe('clusters:\n  lab:\n    server: x\n');
    expect(catalogEntryText('# comment\nclusters:\n\n  # a note\n  lab:\n    server: x\n  prod:\n    server: z\n', 'lab')).toBe('clusters:\n  lab:\n    server: x\n');
  });

  it('leaves every doubt to the whole-file parse', () => {
    expect(catalogEntryText(catalog, 'nope')).toBeUndefined();
    expect(catalogEntryText(`${catalog}  lab:\n    server: x\n`, 'lab')).toBeUndefined(); // duplicate
    expect(catalogEntryText(`${catalog}extra: 1\n`, 'lab')).toBeUndefined(); // another top-level key
    expect(catalogEntryText(catalog.replace('  lab:', '  "lab":'), 'lab')).toBeUndefined(); // quoted name
    expect(catalogEntryText(catalog.replace('\n', '\r\n'), 'lab')).toBeUndefined();
  });
});

describe('KubeconfigFileView.open: one read per unchanged file', () => {
  const contextOf = (path: string): string | undefined => KubeconfigFileView.open(path)?.currentContext;
  const config = (context: string): string => `apiVersion: v1\nkind: Config\ncurrent-context: ${context}\n`;

  it('a file rewritten in place at the same size, long after the first read, is read again', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'k8s-auth-read-')), 'config');
    writeFileSync(path, config('aaaa'));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(contextOf(path)).toBe('aaaa');
    expect(contextOf(path)).toBe('aaaa');
    writeFileSync(path, config('bbbb')); // same inode and size: only the times tell
    expect(contextOf(path)).toBe('bbbb');
  });

  // whether two writes here share a clock tick depends on the filesystem: this holds either way
  it('a file rewritten right after each read is read again each time', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'k8s-auth-read-')), 'config');
    writeFileSync(path, config('cccc'));
    expect(contextOf(path)).toBe('cccc');
    writeFileSync(path, config('dddd'));
    expect(contextOf(path)).toBe('dddd');
    writeFileSync(path, config('eeee'));
    expect(contextOf(path)).toBe('eeee');
  });
});
