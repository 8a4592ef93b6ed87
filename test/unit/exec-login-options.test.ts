// What `login --exec` repeats into the exec args: the choices kubectl's later runs of
// `k8s-auth credential` need, and nothing the user did not choose.
import { describe, expect, it } from 'vitest';
import { loginModeFrom, type ExecLoginFlags } from '../../src/config/exec-login-options.js';

const base: ExecLoginFlags = { exec: true, browser: true, catalog: '/etc/k8s-auth/clusters.yaml' };

describe('loginModeFrom', () => {
  it('defaults: command k8s-auth, apiVersion v1, the catalog spelled out, no timeouts', () => {
    const mode = loginModeFrom(base, 180_000, {});
    expect(mode.exec?.command).toBe('k8s-auth');
    expect(mode.exec?.apiVersion).toBe('client.authentication.k8s.io/v1');
    expect(mode.exec?.extraArgs).toEqual(['--catalog', '/etc/k8s-auth/clusters.yaml']);
  });

  it('repeats --timeout and --http-timeout typed at login, so later sign-ins keep those limits', () => {
    const typed = (name: string) => (name === 'timeout' || name === 'httpTimeout' ? 'cli' : undefined);
    const mode = loginModeFrom({ ...base, timeout: '30', httpTimeout: '5' }, 30_000, {}, typed);
    expect(mode.exec?.extraArgs).toEqual(['--catalog', '/etc/k8s-auth/clusters.yaml', '--timeout', '30', '--http-timeout', '5']);
    // from the environment or the default: not frozen into the kubeconfig
    expect(loginModeFrom({ ...base, timeout: '30', httpTimeout: '5' }, 30_000, {}, () => 'env').exec?.extraArgs).toEqual(['--catalog', '/etc/k8s-auth/clusters.yaml']);
  });

  it('a bare --exec-command stays a PATH lookup, a relative path becomes absolute', () => {
    expect(loginModeFrom({ ...base, execCommand: 'k8s-auth-dev' }, 1, {}).exec?.command).toBe('k8s-auth-dev');
    expect(loginModeFrom({ ...base, execCommand: './bin/k8s-auth.js' }, 1, {}).exec?.command).toMatch(/^\/.*\/bin\/k8s-auth\.js$/);
  });

  it('exec-only flags without --exec are a usage error naming the flag', () => {
    expect(() => loginModeFrom({ browser: true, loginHint: 'jane@example.com' }, 1, {})).toThrow('--login-hint only applies with --exec');
    expect(loginModeFrom({ browser: true }, 1, {}).exec).toBeUndefined();
  });

  it('an unknown --exec-api-version is refused', () => {
    expect(() => loginModeFrom({ ...base, execApiVersion: 'v2' }, 1, {})).toThrow("--exec-api-version must be v1 or v1beta1, not 'v2'");
  });
});
