import { describe, expect, it } from 'vitest';
import { bashCompletionScript } from '../../src/core/completion/bash.js';
import { fishCompletionScript } from '../../src/core/completion/fish.js';
import { allNodes, completionTree, encodeKind, fishQuote, inferValueKind, optionPlaceholder, shQuote } from '../../src/core/completion/index.js';
import { zshCompletionScript } from '../../src/core/completion/zsh.js';
import { completionTestProgram } from '../support/completion-program.js';

const tree = () => completionTree(completionTestProgram());
const node = (path: string) => {
  const found = allNodes(tree()).find((n) => n.path.join(' ') === path);
  if (!found) throw new Error(`no node ${path}`);
  return found;
};

describe('completionTree', () => {
  it('walks visible commands and leaves hidden ones out', () => {
    const names = tree().commands.map((c) => c.name);
    expect(names).toEqual(['login', 'rbac', 'token', 'help']);
    expect(node('rbac').commands.map((c) => c.name)).toEqual(['apply', 'list', 'help']);
  });

  it('keeps aliases and inherits global options (not --version) into subcommands', () => {
    const login = node('login');
    expect(login.aliases).toEqual(['signin']);
    const names = login.options.flatMap((o) => o.names);
    expect(names).toEqual(expect.arrayContaining(['-v', '--verbose', '-q', '--quiet', '--catalog', '-o', '--output', '--no-open', '-h', '--help']));
    expect(names).not.toContain('--version');
    expect(tree().options.flatMap((o) => o.names)).toContain('--version');
  });

  it('infers what each value completes to', () => {
    const login = node('login');
    const kind = (flag: string) => login.options.find((o) => o.names.includes(flag))?.value;
    expect(kind('--output')).toEqual({ type: 'words', words: ['text', 'json', 'yaml'] });
    expect(kind('--catalog')).toEqual({ type: 'files' });
    expect(kind('--vault-prefix')).toEqual({ type: 'free' });
    expect(kind('--timeout')).toEqual({ type: 'free' });
    expect(kind('--no-open')).toBeUndefined();
    expect(login.args).toEqual([{ name: 'cluster', value: { type: 'clusters' }, variadic: false }]);
    expect(node('token').args).toEqual([{ name: 'clusters', value: { type: 'clusters' }, variadic: true }]);
    expect(node('rbac apply').args[0]?.value).toEqual({ type: 'files' });
    expect(node('rbac list').options.find((o) => o.names.includes('--cluster'))?.value).toEqual({ type: 'clusters' });
  });

  it('reads placeholders and kinds', () => {
    expect(optionPlaceholder('-o, --output <format>')).toBe('format');
    expect(optionPlaceholder('--catalog [file]')).toBe('file');
    expect(optionPlaceholder('--quiet')).toBeUndefined();
    expect(inferValueKind('cluster', undefined)).toEqual({ type: 'clusters' });
    expect(inferValueKind('ca-file', undefined)).toEqual({ type: 'files' });
    expect(inferValueKind('path', undefined, '--vault-prefix')).toEqual({ type: 'free' });
    expect(inferValueKind('x', ['a', 'b'])).toEqual({ type: 'words', words: ['a', 'b'] });
    expect(encodeKind({ type: 'words', words: ['json', 'ya ml', 'yaml'] })).toBe('words:json yaml');
  });

  it('quotes for the shells', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(fishQuote("it's a \\ path")).toBe(`'it\\'s a \\\\ path'`);
  });
});

describe('generated scripts', () => {
  const options = { command: 'k8s-auth', forwardOptions: ['--catalog'] };

  it('bash: tables carry aliases, options, value kinds and the variadic argument', () => {
    const script = bashCompletionScript(tree(), options);
    expect(script).toContain(`'|login'|'|signin') REPLY='login' ;;`);
    expect(script).toContain(`'rbac|apply') REPLY='rbac apply' ;;`);
    expect(script).toContain(`'login|--output') REPLY='words:text json yaml' ;;`);
    expect(script).toContain(`'token|'*) REPLY='clusters' ;;`);
    expect(script).toContain('complete -F _k8s_auth k8s-auth');
    expect(script).not.toContain('secret-thing');
    expect(script).not.toContain("'|__complete'");
  });

  it('zsh: a #compdef function with descriptions', () => {
    const script = zshCompletionScript(tree(), options);
    expect(script.startsWith('#compdef k8s-auth\n')).toBe(true);
    expect(script).toContain(`'login:sign in to a cluster'`);
    expect(script).toContain('compdef _k8s_auth k8s-auth');
  });

  it('fish: one dynamic completion with descriptions', () => {
    const script = fishCompletionScript(tree(), options);
    expect(script).toContain(`case '|login' '|signin'`);
    expect(script).toContain(`complete -c k8s-auth -f -a '(__k8s_auth_complete)'`);
  });
});
