import { CliError, ExitCode } from '../errors.js';
import { registerSecret } from '../ui/redact.js';

/**
 * Passwords come from K8S_AUTH_PASSWORD or stdin, never from argv (where `ps` and shell history
 * would show them). On a terminal the prompt does not echo; from a pipe the first line is read.
 */
export interface PasswordSourceOptions {
  env?: Readonly<Record<string, string | undefined>>;
  stdin?: NodeJS.ReadStream;
  prompt?: string;
}

export function passwordFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const value = env['K8S_AUTH_PASSWORD'];
  if (value === undefined || value === '') return undefined;
  registerSecret(value);
  return value;
}

export async function readPassword(options: PasswordSourceOptions = {}): Promise<string> {
  const fromEnv = passwordFromEnv(options.env ?? process.env);
  if (fromEnv !== undefined) return fromEnv;
  const stdin = options.stdin ?? process.stdin;
  const password = stdin.isTTY ? await promptHidden(stdin, options.prompt ?? 'Password: ') : await readFirstLine(stdin);
  if (password === '') throw new CliError(ExitCode.USAGE, 'no password given: pipe it on stdin or set K8S_AUTH_PASSWORD (never pass it as an argument)');
  registerSecret(password);
  return password;
}

function readFirstLine(stdin: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = () => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', done);
      stdin.removeListener('error', onError);
      stdin.pause();
      resolve((text.split(/\r?\n/)[0] ?? '').replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.includes('\n') || text.length > 64 * 1024) done();
    };
    const onError = (error: Error) => reject(new CliError(ExitCode.USAGE, `cannot read the password from stdin: ${error.message}`));
    stdin.on('data', onData);
    stdin.once('end', done);
    stdin.once('error', onError);
    stdin.resume();
  });
}

function promptHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    // echo off BEFORE the prompt shows: anything typed as soon as it appears must not be echoed
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.setEncoding('utf8');
    const finish = (result: string | Error) => {
      stdin.setRawMode(false);
      stdin.removeListener('data', onData);
      stdin.pause();
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(value);
        if (ch === '\u0003') return finish(new CliError(ExitCode.INTERRUPTED, 'interrupted at the password prompt'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}
