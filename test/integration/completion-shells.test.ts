import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli.js';
import { bashCompletionScript } from '../../src/core/completion/bash.js';
import { fishCompletionScript } from '../../src/core/completion/fish.js';
import { completionTree, shQuote } from '../../src/core/completion/index.js';
import { zshCompletionScript } from '../../src/core/completion/zsh.js';
import { completionTestProgram } from '../support/completion-program.js';
import { repoRoot, skipUnless } from '../support/skip.js';

/*
 * The generated scripts run in the real shells: bash through its completion function with
 * COMP_WORDS/COMP_CWORD set as bash sets them (including its split of `--opt=value` at '='),
 * zsh with the completion builtins replaced by recorders, fish through `complete -C`. Cluster
 * names come from the real CLI (`k8s-auth __complete clusters`, dist/ built by `npm run build`)
 * launched from PATH as `k8s-auth`.
 */
const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-completion-'));
const binDir = join(dir, 'bin');
const catalog = join(dir, 'clusters.yaml');
const entry = (host: string) => `{ server: 'https://${host}:6443', issuer-url: 'https://dex.example.com', client-id: k8s-auth }`;
const env = { ...process.env, PATH: `${binDir}:${process.env['PATH'] ?? ''}`, HOME: dir, VAULT_ADDR: '', K8S_AUTH_CATALOG: '', NO_COLOR: '1' };

const options = { command: 'k8s-auth', forwardOptions: ['--catalog', '--vault-prefix'] };
const testTree = completionTree(completionTestProgram());

function has(shell: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;
}

beforeAll(() => {
  mkdirSync(binDir);
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'certs', 'ca.pem'), 'x');
  writeFileSync(join(dir, 'certs', 'ca-old.pem'), 'x');
  writeFileSync(catalog, `clusters:\n  prod: ${entry('prod')}\n  staging: ${entry('staging')}\n  dev-eu: ${entry('dev')}\n`);
  const launcher = join(binDir, 'k8s-auth');
  writeFileSync(launcher, `#!/bin/sh\nexec ${shQuote(process.execPath)} ${shQuote(join(repoRoot, 'bin', 'k8s-auth.js'))} "$@"\n`);
  chmodSync(launcher, 0o755);
});

/** Runs the bash completion function for `words` (the last one is under the cursor). */
function bashComplete(script: string, words: readonly string[], extraEnv: Record<string, string> = {}): string[] {
  const file = join(dir, `bash-${Math.random().toString(36).slice(2)}.sh`);
  writeFileSync(file, script);
  const program = [
    `source ${shQuote(file)}`,
    `COMP_WORDS=(${words.map(shQuote).join(' ')})`,
    `COMP_CWORD=${words.length - 1}`,
    `COMP_LINE=${shQuote(words.join(' '))}`,
    'COMP_POINT=${#COMP_LINE}',
    '_k8s_auth',
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  const out = execFileSync('bash', ['--norc', '--noprofile', '-c', program], { env: { ...env, ...extraEnv }, encoding: 'utf8', cwd: dir });
  return out.split('\n').filter((l) => l !== '');
}

describe('bash completion (generated from a k8s-auth-shaped program)', () => {
  const script = bashCompletionScript(testTree, options);
  const complete = (...words: string[]) => bashComplete(script, words).sort();

  it('completes subcommands, nested subcommands and aliases', () => {
    expect(complete('k8s-auth', '')).toEqual(['help', 'login', 'rbac', 'token']);
    expect(complete('k8s-auth', 'lo')).toEqual(['login']);
    expect(complete('k8s-auth', 'rbac', '')).toEqual(['apply', 'help', 'list']);
    expect(complete('k8s-auth', '-v', 'rbac', 'l')).toEqual(['list']);
  });

  it('completes options of the command path, globals included, --version only at the top', () => {
    const login = complete('k8s-auth', 'login', '--');
    expect(login).toEqual(expect.arrayContaining(['--catalog', '--output', '--grant', '--no-open', '--verbose', '--quiet', '--help']));
    expect(login).not.toContain('--version');
    expect(login).not.toContain('--dry-run');
    expect(complete('k8s-auth', '--')).toContain('--version');
    expect(complete('k8s-auth', 'rbac', 'apply', '--d')).toEqual(['--dry-run']);
  });

  it('completes option values from choices, in every spelling bash produces', () => {
    expect(complete('k8s-auth', 'login', '--output', '')).toEqual(['json', 'text', 'yaml']);
    expect(complete('k8s-auth', 'login', '-o', 'y')).toEqual(['yaml']);
    // bash splits "--output=j" into "--output" "=" "j"
    expect(complete('k8s-auth', 'login', '--output', '=', 'j')).toEqual(['json']);
    expect(complete('k8s-auth', 'login', '--output', '=')).toEqual(['json', 'text', 'yaml']);
    expect(complete('k8s-auth', 'signin', '--grant', 'd')).toEqual(['device-code']);
    expect(complete('k8s-auth', 'login', '--timeout', '')).toEqual([]);
  });

  it('completes cluster names from the catalog the line names (or K8S_AUTH_CATALOG)', () => {
    expect(complete('k8s-auth', 'login', '--catalog', catalog, '')).toEqual(['dev-eu', 'prod', 'staging']);
    expect(complete('k8s-auth', 'login', '--catalog', '=', catalog, 'p')).toEqual(['prod']);
    expect(complete('k8s-auth', '-v', 'login', '--timeout', '5', '--catalog', catalog, 's')).toEqual(['staging']);
    expect(bashComplete(script, ['k8s-auth', 'token', 'prod', 'dev', ''], { K8S_AUTH_CATALOG: catalog }).sort()).toEqual(['dev-eu', 'prod', 'staging']);
    // the second positional of login is not a cluster
    expect(complete('k8s-auth', 'login', '--catalog', catalog, 'prod', '')).toEqual([]);
    // no catalog anywhere: nothing, quietly
    expect(complete('k8s-auth', 'login', '')).toEqual([]);
  });

  it('completes file names where a file is expected', () => {
    expect(complete('k8s-auth', 'rbac', 'apply', join(dir, 'certs', 'ca'))).toEqual([join(dir, 'certs', 'ca-old.pem'), join(dir, 'certs', 'ca.pem')]);
    expect(complete('k8s-auth', 'token', '--kubeconfig', join(dir, 'certs', 'ca-'))).toEqual([join(dir, 'certs', 'ca-old.pem')]);
  });
});

describe('bash completion of the real CLI', () => {
  it('loads with `source <(k8s-auth completion bash)` and registers the function', () => {
    const out = execFileSync('bash', ['--norc', '--noprofile', '-c', 'source <(k8s-auth completion bash) && complete -p k8s-auth'], { env, encoding: 'utf8' });
    expect(out.trim()).toBe('complete -F _k8s_auth k8s-auth');
  });

  it('completes every visible command of the program tree, and cluster names via __complete', async () => {
    const script = execFileSync('k8s-auth', ['completion', 'bash'], { env, encoding: 'utf8' });
    const program = await buildProgram('k8s-auth');
    const expected = completionTree(program).commands.map((c) => c.name).sort();
    expect(expected).toContain('completion');
    expect(bashComplete(script, ['k8s-auth', '']).sort()).toEqual(expected);
    expect(bashComplete(script, ['k8s-auth', 'completion', '']).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(bashComplete(script, ['k8s-auth', '__comp'])).toEqual([]);
    // every command with a <cluster> argument completes names from the catalog (K8S_AUTH_CATALOG:
    // not every such command takes --catalog)
    // (a cluster positional that also takes a context name completes to both: no contexts here)
    const withClusters = completionTree(program).commands.filter((c) => ['clusters', 'clusters-contexts'].includes(c.args[0]?.value.type ?? ''));
    expect(withClusters.map((c) => c.name)).toEqual(expect.arrayContaining(['doctor']));
    for (const command of withClusters) {
      expect(bashComplete(script, ['k8s-auth', command.name, 'st'], { K8S_AUTH_CATALOG: catalog, KUBECONFIG: '' }), command.name).toEqual(['staging']);
    }
  });
});

describe('__complete clusters', () => {
  let silent: Server;
  let port = 0;
  beforeAll(async () => {
    // accepts connections and never answers, like a Vault behind a dead proxy
    silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as { port: number }).port;
  });
  afterAll(() => silent.close());

  it('lists names one per line', () => {
    const out = spawnSync('k8s-auth', ['__complete', 'clusters', '--catalog', catalog], { env, encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout).toBe('dev-eu\nprod\nstaging\n');
  });

  it('gives up after about a second on a Vault that does not answer, printing nothing', () => {
    const started = Date.now();
    const out = spawnSync('k8s-auth', ['__complete', 'clusters'], {
      env: { ...env, VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_TOKEN: 'completion-test-token' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    const elapsed = Date.now() - started;
    expect(out.status).toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe('');
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(4_000);
  });

  it('prints nothing and succeeds when the catalog is broken', () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'clusters: [1, 2\n');
    const out = spawnSync('k8s-auth', ['__complete', 'clusters', '--catalog', broken], { env, encoding: 'utf8' });
    expect([out.status, out.stdout, out.stderr]).toEqual([0, '', '']);
  });
});

/** zsh: the completion builtins exist only inside a completion widget, so record their calls. */
function zshComplete(script: string, words: readonly string[]): string[] {
  return zshCompleteIn(script, words, env);
}

function zshCompleteIn(script: string, words: readonly string[], shellEnv: NodeJS.ProcessEnv): string[] {
  const file = join(dir, `zsh-${Math.random().toString(36).slice(2)}.zsh`);
  writeFileSync(file, script);
  const program = [
    'compdef() { :; }',
    'compset() { return 0; }',
    'compadd() { if [[ $1 == -a ]]; then print -rl -- "${(@P)2}"; else print -rl -- "$@"; fi; }',
    '_describe() { local item; for item in "${(@P)${@[-1]}}"; do print -r -- "${item%%:*}"; done; }',
    "_files() { print -r -- '<files>'; }",
    `source ${shQuote(file)}`,
    `words=(${words.map(shQuote).join(' ')})`,
    `CURRENT=${words.length}`,
    '_k8s_auth',
  ].join('\n');
  const out = execFileSync('zsh', ['-f', '-c', program], { env: shellEnv, encoding: 'utf8', cwd: dir });
  const typed = (words.at(-1) ?? '').replace(/^--[^=]*=/, '');
  // zsh itself filters candidates by what is typed; the recorders do not
  return out.split('\n').filter((l) => l !== '' && (l === '<files>' || l.startsWith(typed))).sort();
}

describe.skipIf(skipUnless(has('zsh'), 'zsh is not installed (apt-get install zsh)'))('zsh completion', () => {
  const script = zshCompletionScript(testTree, options);

  it('parses (zsh -n) for the test program and the real CLI', () => {
    const file = join(dir, '_k8s-auth');
    writeFileSync(file, script);
    expect(spawnSync('zsh', ['-n', file]).status).toBe(0);
    const real = execFileSync('k8s-auth', ['completion', 'zsh'], { env, encoding: 'utf8' });
    writeFileSync(file, real);
    const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('completes commands, options, values, clusters and files', () => {
    expect(zshComplete(script, ['k8s-auth', ''])).toEqual(['help', 'login', 'rbac', 'token']);
    expect(zshComplete(script, ['k8s-auth', 'rbac', ''])).toEqual(['apply', 'help', 'list']);
    expect(zshComplete(script, ['k8s-auth', 'login', '--c'])).toEqual(['--catalog']);
    expect(zshComplete(script, ['k8s-auth', 'login', '--output', ''])).toEqual(['json', 'text', 'yaml']);
    expect(zshComplete(script, ['k8s-auth', 'login', '--output=j'])).toEqual(['json']);
    expect(zshComplete(script, ['k8s-auth', 'login', '--catalog', catalog, ''])).toEqual(['dev-eu', 'prod', 'staging']);
    expect(zshComplete(script, ['k8s-auth', 'rbac', 'apply', ''])).toEqual(['<files>']);
  });
});

/** fish completes for real, without a terminal, through `complete -C`. */
function fishComplete(script: string, line: string): string[] {
  return fishCompleteIn(script, line, env);
}

function fishCompleteIn(script: string, line: string, shellEnv: NodeJS.ProcessEnv): string[] {
  const file = join(dir, `fish-${Math.random().toString(36).slice(2)}.fish`);
  writeFileSync(file, script);
  const out = execFileSync('fish', ['--no-config', '-c', `source ${shQuote(file)}; complete -C ${shQuote(line)}`], { env: shellEnv, encoding: 'utf8', cwd: dir });
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0] ?? '').sort();
}

describe.skipIf(skipUnless(has('fish'), 'fish is not installed (apt-get install fish)'))('fish completion', () => {
  const script = fishCompletionScript(testTree, options);

  it('parses (fish --no-execute) for the test program and the real CLI', () => {
    const file = join(dir, 'k8s-auth.fish');
    writeFileSync(file, script);
    expect(spawnSync('fish', ['--no-execute', file]).status).toBe(0);
    writeFileSync(file, execFileSync('k8s-auth', ['completion', 'fish'], { env, encoding: 'utf8' }));
    const check = spawnSync('fish', ['--no-execute', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('completes commands, options, values, clusters and files', () => {
    expect(fishComplete(script, 'k8s-auth ')).toEqual(['help', 'login', 'rbac', 'token']);
    expect(fishComplete(script, 'k8s-auth rbac l')).toEqual(['list']);
    expect(fishComplete(script, 'k8s-auth login --ca')).toEqual(['--catalog']);
    expect(fishComplete(script, 'k8s-auth login --output ')).toEqual(['json', 'text', 'yaml']);
    expect(fishComplete(script, 'k8s-auth login --output=y')).toEqual(['--output=yaml']);
    expect(fishComplete(script, `k8s-auth login --catalog ${catalog} `)).toEqual(['dev-eu', 'prod', 'staging']);
    expect(fishComplete(script, `k8s-auth rbac apply ${join(dir, 'certs')}/ca.`)).toEqual([join(dir, 'certs', 'ca.pem')]);
  });
});

/*
 * Issue 17 point 7: the real CLI's scripts complete grant names (`login --grant`, checked by the
 * command, not by commander), output formats, catalog clusters and kubeconfig contexts
 * (`whoami <TAB>`, `--context`), in each real shell. Contexts come from `--kubeconfig` on the
 * line, else $KUBECONFIG, through `k8s-auth __complete contexts`.
 */
describe('the real CLI completes grants, formats, clusters and contexts', () => {
  const kubeconfig = join(dir, 'kc.yaml');
  const other = join(dir, 'kc-other.yaml');
  const context = (name: string) => `  - name: ${name}\n    context: { cluster: c, user: u }\n`;
  const shellEnv = () => ({ ...env, KUBECONFIG: kubeconfig, K8S_AUTH_CATALOG: catalog });
  beforeAll(() => {
    writeFileSync(kubeconfig, `apiVersion: v1\nkind: Config\ncurrent-context: lab-ctx\ncontexts:\n${context('lab-ctx')}${context('prod-ctx')}${context('staging-ctx')}`);
    writeFileSync(other, `apiVersion: v1\nkind: Config\ncontexts:\n${context('other-ctx')}`);
  });
  const script = (shell: string) => execFileSync('k8s-auth', ['completion', shell], { env, encoding: 'utf8' });

  it('__complete contexts lists the kubeconfig contexts, nothing for a missing or broken file', () => {
    const run = (...args: string[]) => spawnSync('k8s-auth', ['__complete', 'contexts', ...args], { env: shellEnv(), encoding: 'utf8' });
    expect([run().status, run().stdout]).toEqual([0, 'lab-ctx\nprod-ctx\nstaging-ctx\n']);
    expect(run('--kubeconfig', other).stdout).toBe('other-ctx\n');
    expect([run('--kubeconfig', join(dir, 'absent.yaml')).stdout, run('--kubeconfig', join(dir, 'absent.yaml')).stderr]).toEqual(['', '']);
    const broken = join(dir, 'kc-broken.yaml');
    writeFileSync(broken, 'contexts: [1, 2\n');
    const out = run('--kubeconfig', broken);
    expect([out.status, out.stdout, out.stderr]).toEqual([0, '', '']);
  });

  it('a cluster positional of a command with --context completes to clusters and contexts (bash, zsh, fish)', () => {
    const program = new Command('k8s-auth');
    program.command('show').argument('[cluster]').option('--context <name>').option('--kubeconfig <file>');
    program.command('sign').argument('<cluster>').option('--context-name <name>');
    program.command('__complete', { hidden: true }).argument('<what>').option('--catalog <file>').option('--kubeconfig <file>');
    const tree = completionTree(program);
    const opts = { command: 'k8s-auth', forwardOptions: ['--catalog', '--kubeconfig'] };
    const both = ['dev-eu', 'lab-ctx', 'prod', 'prod-ctx', 'staging', 'staging-ctx'];
    expect(bashComplete(bashCompletionScript(tree, opts), ['k8s-auth', 'show', ''], shellEnv()).sort()).toEqual(both);
    expect(bashComplete(bashCompletionScript(tree, opts), ['k8s-auth', 'show', '--context', 'l'], shellEnv())).toEqual(['lab-ctx']);
    expect(bashComplete(bashCompletionScript(tree, opts), ['k8s-auth', 'sign', ''], shellEnv()).sort()).toEqual(['dev-eu', 'prod', 'staging']);
    if (has('zsh')) expect(zshCompleteIn(zshCompletionScript(tree, opts), ['k8s-auth', 'show', 'p'], shellEnv())).toEqual(['prod', 'prod-ctx']);
    if (has('fish')) expect(fishCompleteIn(fishCompletionScript(tree, opts), 'k8s-auth show s', shellEnv())).toEqual(['staging', 'staging-ctx']);
  });

  it('bash', () => {
    const bash = script('bash');
    const complete = (...words: string[]) => bashComplete(bash, words, shellEnv()).sort();
    expect(complete('k8s-auth', 'login', '--grant', '')).toEqual(['auto', 'browser', 'device-code', 'password']);
    expect(complete('k8s-auth', 'login', '--grant', '=', 'd')).toEqual(['device-code']);
    expect(complete('k8s-auth', 'whoami', '-o', '')).toEqual(['json', 'text', 'yaml']);
    expect(complete('k8s-auth', 'whoami', '')).toEqual(expect.arrayContaining(['lab-ctx', 'prod-ctx', 'staging-ctx']));
    expect(complete('k8s-auth', 'whoami', '--kubeconfig', other, 'o')).toEqual(['other-ctx']);
    expect(complete('k8s-auth', 'rbac', 'list', '--context', 'p')).toEqual(['prod-ctx']);
    expect(complete('k8s-auth', 'login', 'st')).toEqual(['staging']);
  });

  it.skipIf(skipUnless(has('zsh'), 'zsh is not installed (apt-get install zsh)'))('zsh', () => {
    const zsh = script('zsh');
    const complete = (...words: string[]) => zshCompleteIn(zsh, words, shellEnv());
    expect(complete('k8s-auth', 'login', '--grant', '')).toEqual(['auto', 'browser', 'device-code', 'password']);
    expect(complete('k8s-auth', 'login', '--grant=b')).toEqual(['browser']);
    expect(complete('k8s-auth', 'whoami', '-o', '')).toEqual(['json', 'text', 'yaml']);
    expect(complete('k8s-auth', 'whoami', '')).toEqual(expect.arrayContaining(['lab-ctx', 'prod-ctx', 'staging-ctx']));
    expect(complete('k8s-auth', 'whoami', '--kubeconfig', other, 'o')).toEqual(['other-ctx']);
    expect(complete('k8s-auth', 'rbac', 'list', '--context', 'p')).toEqual(['prod-ctx']);
    expect(complete('k8s-auth', 'login', 'st')).toEqual(['staging']);
  });

  it.skipIf(skipUnless(has('fish'), 'fish is not installed (apt-get install fish)'))('fish', () => {
    const fish = script('fish');
    const complete = (line: string) => fishCompleteIn(fish, line, shellEnv());
    expect(complete('k8s-auth login --grant ')).toEqual(['auto', 'browser', 'device-code', 'password']);
    expect(complete('k8s-auth login --grant=p')).toEqual(['--grant=password']);
    expect(complete('k8s-auth whoami -o ')).toEqual(['json', 'text', 'yaml']);
    expect(complete('k8s-auth whoami ')).toEqual(expect.arrayContaining(['lab-ctx', 'prod-ctx', 'staging-ctx']));
    expect(complete(`k8s-auth whoami --kubeconfig ${other} o`)).toEqual(['other-ctx']);
    expect(complete('k8s-auth rbac list --context p')).toEqual(['prod-ctx']);
    expect(complete('k8s-auth login st')).toEqual(['staging']);
  });
});
