import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { HELP_EXAMPLES } from '../../src/commands/help-examples.js';
import { repoRoot } from '../support/skip.js';

/*
 * Issue 17 point 8 and its last paragraph: every command's --help (the real CLI, dist/) has a
 * description and an "Examples:" section whose examples use only options the command has;
 * defaults and environment variables are written one way; and docs/usage.md covers what
 * --help shows (every command has its section, every option shown appears in it or in the
 * page that section links to).
 */
interface Node {
  path: string[];
  command: Command;
}

function visible(command: Command, path: string[] = []): Node[] {
  const help = command.createHelp();
  const subs = help.visibleCommands(command).filter((c) => c.name() !== 'help');
  return [{ path, command }, ...subs.flatMap((c) => visible(c, [...path, c.name()]))];
}

function optionsOf(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) {
    for (const o of c.options) names.push(...[o.short, o.long].filter((n): n is string => typeof n === 'string'));
  }
  return [...names, '-h', '--help'];
}

const program = await buildProgram('k8s-auth');
const nodes = visible(program);
const cli = (args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'k8s-auth.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

describe('--help of every command', () => {
  it('covers the commands there are', () => {
    expect(nodes.map((n) => n.path.join(' '))).toEqual(expect.arrayContaining(['', 'login', 'whoami', 'rbac', 'rbac apply', 'token', 'completion']));
  });

  it.each(nodes.map((n) => [n.path.join(' ') || '(program)', n] as const))('%s: a description and an Examples section', (_name, node) => {
    const run = cli([...node.path, '--help']);
    expect(run.status, run.stderr).toBe(0);
    const [usage = '', blank, description = ''] = run.stdout.split('\n');
    expect(usage).toMatch(/^Usage: k8s-auth/);
    expect(blank).toBe('');
    expect(description.trim().length, `${node.path.join(' ')} has no description`).toBeGreaterThan(10);
    const examples = run.stdout.split('\nExamples:\n')[1];
    expect(examples, `${node.path.join(' ')} --help has no Examples section`).toBeDefined();
    const lines = (examples ?? '').split('\n').filter((l) => l.startsWith('  '));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toHaveLength(HELP_EXAMPLES[node.path.join(' ')]?.length ?? -1);
    for (const line of lines) {
      // the command line itself: from `k8s-auth` to a comment or the end
      const words = (line.slice(line.indexOf('k8s-auth')).split(/\s+#/)[0] ?? '').trim().split(/\s+/).map((w) => w.replace(/\)$/, ''));
      expect(words.slice(0, node.path.length + 1), line).toEqual(['k8s-auth', ...node.path]);
      // the options are those of the (sub)command the example runs
      const runs = nodes.filter((n) => n.path.every((p, i) => words[i + 1] === p)).sort((a, b) => b.path.length - a.path.length)[0] ?? node;
      const known = optionsOf(runs.command);
      for (const word of words.filter((w) => /^-[-A-Za-z]/.test(w))) expect(known, `${line}: ${word}`).toContain(word.split('=')[0]);
    }
  });
});

describe('defaults and environment variables, written one way', () => {
  /*
   * The convention: a default is `(default: …)`, at the end; a variable commander reads for the
   * option is `.env()`, which --help shows as `(env: NAME)`; a default that comes from a variable
   * says so inside the default: `(default: $KUBECONFIG, else ~/.kube/config)`.
   */
  const options = nodes.flatMap((n) => n.command.createHelp().visibleOptions(n.command).map((o) => ({ where: `${n.path.join(' ') || 'k8s-auth'} ${o.flags}`, option: o })));
  it.each(options.map((o) => [o.where, o.option] as const))('%s', (_where, option) => {
    const text = option.description;
    // "default" only as "(default: …)"
    expect(text.replace(/\(default: [^)]*\)/g, ''), text).not.toMatch(/\bdefault\b/i);
    // no variable written as "env X" / "env: X" in the text: that is what .env() is for
    expect(text, text).not.toMatch(/\benv:? [A-Z_]+/);
    // a $VARIABLE only inside the default
    expect(text.replace(/\(default: [^)]*\)/g, ''), text).not.toMatch(/\$[A-Z_]+/);
    // a variable that .env() names is not repeated in the text
    if (option.envVar) expect(text, text).not.toContain(option.envVar);
  });
});

describe('docs/usage.md matches --help', () => {
  const usage = readFileSync(join(repoRoot, 'docs', 'usage.md'), 'utf8');
  const sections = new Map<string, string>();
  for (const part of usage.split(/^## /m).slice(1)) sections.set(part.split('\n')[0]?.trim() ?? '', part);
  const top = nodes.filter((n) => n.path.length === 1);

  it.each(top.map((n) => [n.path[0] ?? '', n] as const))('%s: a section naming every subcommand and option --help shows', (name, node) => {
    const section = sections.get(name);
    expect(section, `docs/usage.md has no "## ${name}" section`).toBeDefined();
    // a section may hand the details to a page of their own: what it links to counts as its text
    const linked = [...(section ?? '').matchAll(/\]\(([a-z-]+\.md)(#[^)]*)?\)/g)].map((m) => readFileSync(join(repoRoot, 'docs', m[1] ?? ''), 'utf8'));
    const text = [section ?? '', ...linked].join('\n');
    for (const sub of nodes.filter((n) => n.path[0] === name && n.path.length > 1)) expect(text, `${sub.path.join(' ')}`).toContain(sub.path.join(' '));
    // every option by its long name, or by its short one as a word (`-o json`)
    const written = (spelling: string) => (spelling.startsWith('--') ? text.includes(spelling) : new RegExp(`(^|[\\s\`[(|])${spelling}[\\s\`=]`).test(text));
    const missing = nodes
      .filter((m) => m.path[0] === name)
      .flatMap((n) => n.command.createHelp().visibleOptions(n.command).filter((o) => o.long && o.long !== '--help' && !written(o.long) && !(o.short && written(o.short))).map((o) => `${n.path.join(' ')} ${o.long ?? ''}`));
    expect(missing, `not in docs/usage.md#${name} (or the page it links to)`).toEqual([]);
  });
});
