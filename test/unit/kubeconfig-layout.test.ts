// The kubeconfig layout scan (core/kubeconfig-layout.ts) against the yaml library, on generated
// files: whenever the scan takes a file, the scoped text of each item must read as that item of
// the full parse, the top-level keys as the full parse's, and a login's edit must read back as the
// full parse + render's (core/kubeconfig-splice.ts). Files it declines go the full path, which is
// always right; the test also checks that it takes most of them, so it cannot pass by declining.
import { describe, expect, it } from 'vitest';
import { type Document, parse, parseDocument } from 'yaml';
import { checkKubeconfig, oidcAuthProviderUser, removeNamed, renderKubeconfig, setCluster, setContext, setCurrentContext, setUser } from '../../src/core/kubeconfig-merge.js';
import { SECTIONS, scopedText, splitKubeconfig } from '../../src/core/kubeconfig-layout.js';
import { editInScope, editInScopeByPieces } from '../../src/core/kubeconfig-splice.js';
import { generateKubeconfig as generate } from '../support/kubeconfig-generator.js';

type Plain = Record<string, unknown>;
const named = (list: unknown, name: string): unknown => (Array.isArray(list) ? list.find((i: Plain) => i?.['name'] === name) : undefined);

describe('the layout scan reads as the yaml library does', () => {
  it('every item, the top level and a login edit, over 600 generated files', () => {
    let taken = 0;
    let spliceTaken = 0;
    for (let seed = 1; seed <= 600; seed++) {
      const text = generate(seed);
      const layout = splitKubeconfig(text);
      if (!layout) continue;
      taken += 1;
      const whole = parse(text) as Plain;
      const top = parse(scopedText(layout, {})) as Plain;
      for (const key of Object.keys(whole)) {
        if ((SECTIONS as readonly string[]).includes(key) && Array.isArray(whole[key]) && (whole[key] as unknown[]).length > 0) continue;
        expect(top[key], `seed ${seed}: top-level ${key}`).toEqual(whole[key]);
      }
      for (const block of layout.blocks) {
        for (const item of block.items ?? []) {
          const scoped = parse(scopedText(layout, { [block.key]: [item.name] })) as Plain;
          expect(scoped[block.key], `seed ${seed}: ${block.key} ${item.name}`).toEqual([named(whole[block.key], item.name)]);
        }
      }
      const cluster = layout.blocks.find((b) => b.key === 'clusters')?.items?.[0]?.name ?? 'new';
      const user = layout.blocks.find((b) => b.key === 'users')?.items?.at(-1)?.name ?? 'new-user';
      const mutate = (doc: Document): void => {
        setCluster(doc, cluster, { server: 'https://new.example:6443', caData: 'TkVX' });
        setUser(doc, user, oidcAuthProviderUser({ issuerUrl: 'https://dex.example', clientId: 'k8s', idToken: 'e.x.y', refreshToken: 'r' }));
        setContext(doc, 'added', { cluster, user });
        setCurrentContext(doc, 'added');
      };
      const spliced = editInScope(text, { clusters: [cluster], users: [user], contexts: ['added'] }, mutate, 'test');
      const full = parseDocument(text);
      checkKubeconfig(full, 'test');
      mutate(full);
      if (spliced === undefined) continue; // the full path writes it: right, only slower
      spliceTaken += 1;
      expect(parse(spliced), `seed ${seed}: the edit`).toEqual(parse(renderKubeconfig(full, text)));
      // the pieces the writer copies from the bytes read, and the new text between them, make the same file
      const pieces = editInScopeByPieces(text, { clusters: [cluster], users: [user], contexts: ['added'] }, mutate, 'test')?.pieces ?? [];
      expect(pieces.map((p) => (typeof p === 'string' ? p : text.slice(p.start, p.end))).join(''), `seed ${seed}: the pieces`).toBe(spliced);
    }
    // the generator mixes in a few layouts the scan declines (names YAML reads otherwise, duplicates);
    // most files it takes must also be edited by the splice, or the edit check above proves nothing
    expect(taken).toBeGreaterThan(300);
    expect(spliceTaken).toBeGreaterThan(taken * 0.8);
  });

  it.each(['| # why', '|  '])('a block scalar header `%s` (a comment, trailing spaces) is one: a `#` line in its text makes the scan decline', (header) => {
    // before, neither was seen as a header, and `#notcomment` was cut off the last item as a comment
    const text = `users:\n- name: a\n  user:\n    token: abc\n- name: b\n  user:\n    installHint: ${header}\n      text\n      #notcomment\n`;
    expect(splitKubeconfig(text)).toBeUndefined();
    const kept = 'users:\n- name: b\n  user:\n    installHint: | # why\n      run a && b\n';
    expect(parse(scopedText(splitKubeconfig(kept)!, { users: ['b'] }))).toEqual(parse(kept));
  });

  it('a file without a final newline gets new entries on lines of their own', () => {
    const text = 'apiVersion: v1\nusers:\n- name: a\n  user:\n    token: t';
    const mutate = (doc: Document): void => setUser(doc, 'b', { token: 'u' });
    const spliced = editInScope(text, { users: ['b'] }, mutate, 'test');
    expect(spliced).toBe('apiVersion: v1\nusers:\n- name: a\n  user:\n    token: t\n- name: b\n  user:\n    token: u\n');
  });

  it('an indented list: a stray line at or left of its column makes the scan decline', () => {
    expect(splitKubeconfig('users:\n  - name: a\n    user: {}\n - name: b\n')).toBeUndefined();
    expect(splitKubeconfig('users:\n  - name: a\n    user: {}\n  oops: 1\n')).toBeUndefined();
    expect(splitKubeconfig('users:\n  - name: a\n    user: {}\n- name: b\n  user: {}\n')).toBeUndefined();
    expect(splitKubeconfig('users:\n  - name: a\n    user: {}\n  # a comment\n  - name: b\n    user: {}\n')?.blocks[0]?.items?.map((i) => i.name)).toEqual(['a', 'b']);
  });

  // the splice's read-back scan of the whole new file catches a comment that the edit turns into text
  it('declines an edit whose new block scalar would take a deeper comment after it as its text', () => {
    const text = 'users:\n- name: a\n  user:\n    token: x\n        # a deep comment\n- name: b\n  user:\n    token: y\n';
    const multiLine = (doc: Document): void => setUser(doc, 'a', { token: 'line1\nline2' });
    expect(editInScope(text, { users: ['a'] }, multiLine, 'test')).toBeUndefined();
    const shallow = text.replace('        # a deep', '  # a shallow');
    const spliced = editInScope(shallow, { users: ['a'] }, multiLine, 'test');
    expect(spliced).toContain('  # a shallow comment\n- name: b');
    expect(parse(spliced as string)).toEqual({ users: [{ name: 'a', user: { token: 'line1\nline2' } }, { name: 'b', user: { token: 'y' } }] });
  });

  it('declines removing an item whose trailing deep comment would become the text of the block scalar before it', () => {
    const text = 'users:\n- name: a\n  user:\n    note: |-\n      kept\n- name: b\n  user:\n    token: y\n        # a deep comment\n- name: c\n  user: {}\n';
    const remove = (doc: Document): void => void removeNamed(doc, 'users', 'b');
    // the comment stays where it was (after a's text, deeper than `note:`): it would read as part of it
    expect(editInScope(text, { users: ['b'] }, remove, 'test')).toBeUndefined();
    const spliced = editInScope(text.replace('        # a deep comment\n', ''), { users: ['b'] }, remove, 'test');
    expect(parse(spliced as string)).toEqual({ users: [{ name: 'a', user: { note: 'kept' } }, { name: 'c', user: {} }] });
  });
});
