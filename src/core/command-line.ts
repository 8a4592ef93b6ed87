import { CliError, ExitCode } from '../errors.js';

/**
 * Splits a command line into words the way a POSIX shell would for plain words, 'single' and
 * "double" quotes and backslash escapes, without running a shell: no expansion, no pipes.
 * Used for --browser-command and $BROWSER.
 */
export function splitCommandLine(line: string, what = 'command'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new CliError(ExitCode.USAGE, `${what} has an unclosed ${quote} quote`);
  if (inWord) words.push(word);
  if (words.length === 0) throw new CliError(ExitCode.USAGE, `${what} is empty`);
  return words;
}

/** The URL goes where `%s` is (the $BROWSER convention), else last. */
export function browserArgv(words: readonly string[], url: string): string[] {
  return words.some((w) => w.includes('%s')) ? words.map((w) => w.split('%s').join(url)) : [...words, url];
}
