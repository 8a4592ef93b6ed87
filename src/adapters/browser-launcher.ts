import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import { browserArgv, splitCommandLine } from '../core/command-line.js';
import { sshForward } from '../core/ssh-forward.js';
import { describeError } from '../errors.js';
import { debug, isVerbose } from '../ui/log.js';

/**
 * Opens the sign-in page: --browser-command, else $BROWSER, else the system's way (the `open`
 * package). Commands run without a shell, the URL as the last argument (or in place of %s).
 * When nothing can show the page (--no-browser, no display, a launcher that fails) the URL is
 * printed on stderr and the login keeps waiting for it.
 */
export interface BrowserOptions {
  noBrowser?: boolean;
  browserCommand?: string;
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
  /** --listen-port, when the user fixed the callback port */
  listenPort?: number;
}

export type OpenBrowser = (url: string) => Promise<void>;

function printUrl(reason: string, url: string): void {
  // not `info`: with --quiet the user still needs the URL to finish signing in
  process.stderr.write(`${reason}\nOpen this URL in a browser to sign in:\n\n  ${url}\n\n`);
}

/** Where no browser can open here (--no-browser, no display): how to sign in from another machine over SSH. */
function printSshHint(url: string, env: Record<string, string | undefined>, listenPort: number | undefined): void {
  const forward = sshForward(url, env, hostname());
  if (!forward) return;
  const port =
    listenPort !== undefined
      ? `The port is fixed by --listen-port ${listenPort}.`
      : `Unless you pass --listen-port <port>, the port changes on every run (to keep this one: --listen-port ${forward.port}).`;
  process.stderr.write(`Signing in from your own machine over SSH? Forward the callback port first, then open the URL there:\n\n  ${forward.command}\n\n${port}\n\n`);
}

export function createBrowserOpener(options: BrowserOptions = {}): OpenBrowser {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  return async (url: string) => {
    if (options.noBrowser) {
      printUrl('--no-browser: not opening a browser.', url);
      printSshHint(url, env, options.listenPort);
      return;
    }
    const command = options.browserCommand ?? (env['BROWSER']?.trim() || undefined);
    if (command !== undefined) {
      const words = splitCommandLine(command, options.browserCommand !== undefined ? '--browser-command' : '$BROWSER');
      await runCommand(words, url);
      return;
    }
    if (platform === 'linux' && !env['DISPLAY'] && !env['WAYLAND_DISPLAY']) {
      printUrl('No display to open a browser on (DISPLAY and WAYLAND_DISPLAY are unset).', url);
      printSshHint(url, env, options.listenPort);
      return;
    }
    try {
      const { default: open } = await import('open');
      const child = await open(url, { wait: false });
      child.once('exit', (code) => {
        if (code !== 0 && code !== null) printUrl(`Could not open a browser (the system opener exited with ${code}).`, url);
      });
      debug('asked the system to open the sign-in page');
      // a system opener can "succeed" while no window ever appears (a dead DISPLAY, a browser
      // that fails to start): the URL is the way out, so it is always shown
      process.stderr.write(`Opening the sign-in page in your browser. If nothing opens, use this URL:\n\n  ${url}\n\n`);
    } catch (error) {
      printUrl(`Could not open a browser: ${describeError(error)}.`, url);
    }
  };
}

function runCommand(words: string[], url: string): Promise<void> {
  const [file, ...args] = browserArgv(words, url);
  return new Promise((resolve) => {
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    const child = spawn(file as string, args, { stdio: ['ignore', 'ignore', isVerbose() ? 'inherit' : 'ignore'], detached: true, shell: false });
    child.once('error', (error) => {
      printUrl(`Could not run the browser command ${file}: ${describeError(error)}.`, url);
      done();
    });
    child.once('spawn', () => {
      debug(`started browser command ${file}`);
      child.unref();
      done();
    });
    child.once('exit', (code) => {
      if (code !== 0 && code !== null) printUrl(`The browser command ${file} exited with ${code}.`, url);
    });
  });
}
