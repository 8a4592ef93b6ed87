// The pure parts of issue 17's newcomer fixes: how `--version`, `-v` and `help <word>` are read,
// commander's "did you mean" kept on the one error line, the version report, and the `ssh -L` line
// for `--no-browser` over SSH.
import { describe, expect, it } from 'vitest';
import { helpAlias, rewriteArgs, versionAlias } from '../../src/core/argv-aliases.js';
import { EXEC_API_V1, EXEC_API_V1BETA1 } from '../../src/core/exec-credential.js';
import { callbackPort, sshForward } from '../../src/core/ssh-forward.js';
import { formatVersion, versionInfo } from '../../src/core/version-info.js';
import { oneLine } from '../../src/cli.js';

const COMMANDS = ['login', 'logout', 'whoami', 'rbac', 'version', 'help'];

describe('versionAlias', () => {
  it('reads --version and a lone -v as the version command, keeping -o', () => {
    expect(versionAlias(['--version'])).toEqual(['version']);
    expect(versionAlias(['-v'])).toEqual(['version']);
    expect(versionAlias(['-v', '-o', 'json'])).toEqual(['version', '-o', 'json']);
    expect(versionAlias(['--version', '--output', 'yaml'])).toEqual(['version', '--output', 'yaml']);
  });
  it('keeps -v as --verbose wherever a command is named', () => {
    expect(versionAlias(['-v', 'login', 'prod'])).toEqual(['-v', 'login', 'prod']);
    expect(versionAlias(['login', '-v'])).toEqual(['login', '-v']);
    expect(versionAlias(['token', '--ttl', '1h', '-v'])).toEqual(['token', '--ttl', '1h', '-v']);
  });
});

describe('helpAlias', () => {
  it('help <command…> is <command…> --help for a command that exists', () => {
    expect(helpAlias(['help', 'login'], COMMANDS)).toEqual(['login', '--help']);
    expect(helpAlias(['help', 'rbac', 'apply'], COMMANDS)).toEqual(['rbac', 'apply', '--help']);
  });
  it('help <typo> is the bare word, so commander reports the unknown command', () => {
    expect(helpAlias(['help', 'logn'], COMMANDS)).toEqual(['logn']);
    expect(helpAlias(['help', 'logn', '--help'], COMMANDS)).toEqual(['logn']);
  });
  it('leaves plain help and everything else alone', () => {
    expect(helpAlias(['help'], COMMANDS)).toEqual(['help']);
    expect(helpAlias(['help', '--all'], COMMANDS)).toEqual(['help', '--all']);
    expect(helpAlias(['login', 'help'], COMMANDS)).toEqual(['login', 'help']);
    expect(rewriteArgs(['--version'], COMMANDS)).toEqual(['version']);
  });
});

describe('oneLine (commander errors)', () => {
  it('keeps the suggestion on the one line', () => {
    expect(oneLine("error: unknown command 'logn'\n(Did you mean login?)")).toBe("error: unknown command 'logn': did you mean login? (see --help)\n");
    expect(oneLine("error: unknown option '--grnat'\n(Did you mean --grant?)\n")).toBe("error: unknown option '--grnat': did you mean --grant? (see --help)\n");
    expect(oneLine("error: unknown command 'log'\n(Did you mean one of login, logout?)")).toBe("error: unknown command 'log': did you mean one of login, logout? (see --help)\n");
  });
  it('adds nothing when commander has no suggestion', () => {
    expect(oneLine("error: unknown command 'zzz'")).toBe("error: unknown command 'zzz' (see --help)\n");
  });
});

describe('version report', () => {
  it('names the version, the Node version and both exec credential API versions', () => {
    const info = versionInfo('1.2.3', 'v20.18.1');
    expect(info).toEqual({ version: '1.2.3', node: 'v20.18.1', execCredentialApiVersions: [EXEC_API_V1, EXEC_API_V1BETA1] });
    expect(formatVersion(info)).toBe(`k8s-auth 1.2.3 (node v20.18.1; exec credential API ${EXEC_API_V1}, ${EXEC_API_V1BETA1})\n`);
  });
});

describe('ssh -L line for --no-browser', () => {
  const url = (redirect: string) => `https://idp.example.com/dex/auth?client_id=k8s-auth&redirect_uri=${encodeURIComponent(redirect)}&state=s`;

  it('reads the callback port from the redirect_uri of the authorization URL', () => {
    expect(callbackPort(url('http://127.0.0.1:43117/callback'))).toEqual({ host: '127.0.0.1', port: 43117 });
    expect(callbackPort(url('http://[::1]:8000/callback'))).toEqual({ host: '[::1]', port: 8000 });
    expect(callbackPort(url('https://app.example.com/callback'))).toBeUndefined();
    expect(callbackPort('https://idp.example.com/device')).toBeUndefined();
    expect(callbackPort('not a url')).toBeUndefined();
  });

  it('inside an SSH session, names this host as the user reached it (SSH_CONNECTION), with -p when not 22', () => {
    const env = { SSH_CONNECTION: '203.0.113.7 50022 10.1.2.3 2222', USER: 'jane' };
    expect(sshForward(url('http://127.0.0.1:43117/callback'), env, 'build-box')).toEqual({ port: 43117, command: 'ssh -L 43117:127.0.0.1:43117 -p 2222 jane@10.1.2.3' });
    expect(sshForward(url('http://127.0.0.1:8000/callback'), { SSH_CONNECTION: '203.0.113.7 50022 10.1.2.3 22', USER: 'jane' }, 'x')?.command).toBe('ssh -L 8000:127.0.0.1:8000 jane@10.1.2.3');
    expect(sshForward(url('http://[::1]:8000/callback'), { SSH_CONNECTION: '2001:db8::7 5 2001:db8::1 22' }, 'x')?.command).toBe('ssh -L 8000:[::1]:8000 2001:db8::1');
    expect(sshForward(url('http://localhost:8000/callback'), { USER: 'jane' }, 'x')?.command).toBe('ssh -L 8000:127.0.0.1:8000 jane@x');
  });

  it('outside one, the host name stands in; no line without a loopback callback', () => {
    expect(sshForward(url('http://127.0.0.1:43117/callback'), { USER: 'ops' }, 'build-box')?.command).toBe('ssh -L 43117:127.0.0.1:43117 ops@build-box');
    expect(sshForward('https://idp.example.com/device?user_code=ABCD', { USER: 'ops' }, 'build-box')).toBeUndefined();
  });
});
