// login checks a kubeconfig before the sign-in with the narrow reader and checkPlainKubeconfig;
// the answers (pass, or the same one-line error) must be those of the yaml library's Document
// and checkKubeconfig, for every text the narrow reader accepts.
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { checkKubeconfig } from '../../src/core/kubeconfig-merge.js';
import { checkPlainKubeconfig } from '../../src/core/kubeconfig-shape.js';
import { parseSimpleYaml } from '../../src/core/simple-yaml.js';

const verdict = (fn: () => void): string => {
  try {
    fn();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
};

const texts: Record<string, string> = {
  empty: '',
  blank: '\n\n',
  'null document': 'null\n',
  kubectl: 'apiVersion: v1\nkind: Config\nclusters:\n- name: a\n  cluster:\n    server: https://a:6443\nusers: []\ncontexts:\n- name: a\n  context:\n    cluster: a\n    user: u\ncurrent-context: a\npreferences: {}\n',
  'null sections': 'apiVersion: v1\nclusters: null\nusers:\ncontexts: ~\n',
  'current-context empty': 'current-context: ""\n',
  'a list': '- a\n- b\n',
  'a string': 'hello\n',
  'clusters a mapping': 'clusters:\n  a: b\n',
  'users a string': 'users: nobody\n',
  'current-context a list': 'current-context:\n- a\n',
  'current-context a boolean': 'current-context: true\n',
  JSON: '{"apiVersion": "v1", "clusters": [], "current-context": "x"}',
};

describe('checkPlainKubeconfig answers as checkKubeconfig does', () => {
  for (const [name, text] of Object.entries(texts)) {
    it(name, () => {
      const plain = parseSimpleYaml(text);
      const full = verdict(() => checkKubeconfig(parseDocument(text), '/k/config'));
      // declined: login falls back to the full reader, so nothing to compare here
      if (plain === undefined) return;
      expect(verdict(() => checkPlainKubeconfig(plain, '/k/config'))).toBe(full);
    });
  }

  it('the comparison is not vacuous: the narrow reader accepts the usual files and the wrong shapes', () => {
    for (const n of ['empty', 'kubectl', 'null sections', 'a list', 'clusters a mapping', 'users a string', 'current-context a boolean', 'JSON']) {
      expect(parseSimpleYaml(texts[n] as string), n).not.toBeUndefined();
    }
    for (const n of ['a list', 'clusters a mapping', 'users a string', 'current-context a boolean']) {
      expect(verdict(() => checkPlainKubeconfig(parseSimpleYaml(texts[n] as string) as never, '/k/config')), n).toMatch(/^CliError: kubeconfig \/k\/config/);
    }
  });
});
