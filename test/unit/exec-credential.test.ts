import { describe, expect, it } from 'vitest';
import {
  EXEC_API_V1,
  EXEC_API_V1BETA1,
  buildCredentialArgs,
  buildExecUser,
  formatExecCredential,
  parseExecApiVersion,
  parseExecInfo,
  readCredentialFlags,
  rfc3339,
} from '../../src/core/exec-credential.js';

describe('KUBERNETES_EXEC_INFO', () => {
  it('reads apiVersion, spec.interactive and the cluster server', () => {
    const info = parseExecInfo(JSON.stringify({ kind: 'ExecCredential', apiVersion: EXEC_API_V1, spec: { interactive: true, cluster: { server: 'https://127.0.0.1:6443' } } }));
    expect(info).toEqual({ ok: true, info: { apiVersion: EXEC_API_V1, interactive: true, clusterServer: 'https://127.0.0.1:6443' } });
    expect(parseExecInfo(JSON.stringify({ kind: 'ExecCredential', apiVersion: EXEC_API_V1BETA1, spec: { interactive: false } }))).toEqual({
      ok: true,
      info: { apiVersion: EXEC_API_V1BETA1, interactive: false },
    });
  });

  it('answers v1beta1 with unknown interactivity when kubectl sent nothing', () => {
    expect(parseExecInfo(undefined)).toEqual({ ok: true, info: { apiVersion: EXEC_API_V1BETA1, interactive: undefined } });
    expect(parseExecInfo('')).toEqual({ ok: true, info: { apiVersion: EXEC_API_V1BETA1, interactive: undefined } });
  });

  it('refuses v1alpha1, another kind, and garbage with a reason', () => {
    const alpha = parseExecInfo(JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1alpha1', spec: {} }));
    expect(alpha).toEqual({ ok: false, problem: expect.stringContaining("apiVersion 'client.authentication.k8s.io/v1alpha1'") });
    expect(parseExecInfo(JSON.stringify({ kind: 'Pod', apiVersion: EXEC_API_V1 })).ok).toBe(false);
    expect(parseExecInfo('{nope').ok).toBe(false);
  });

  it('knows the short version names', () => {
    expect(parseExecApiVersion('v1')).toBe(EXEC_API_V1);
    expect(parseExecApiVersion('v1beta1')).toBe(EXEC_API_V1BETA1);
    expect(parseExecApiVersion(EXEC_API_V1BETA1)).toBe(EXEC_API_V1BETA1);
    expect(parseExecApiVersion('v1alpha1')).toBeUndefined();
  });
});

describe('ExecCredential answer', () => {
  it('is one JSON line of the asked apiVersion with token and RFC 3339 expiry', () => {
    const text = formatExecCredential(EXEC_API_V1BETA1, 'the-token', Date.UTC(2030, 0, 2, 3, 4, 5, 678), false);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(text)).toEqual({
      kind: 'ExecCredential',
      apiVersion: EXEC_API_V1BETA1,
      spec: { interactive: false },
      status: { expirationTimestamp: '2030-01-02T03:04:05Z', token: 'the-token' },
    });
    expect(rfc3339(0)).toBe('1970-01-01T00:00:00Z');
  });
});

describe('kubeconfig exec stanza', () => {
  const args = buildCredentialArgs({
    cluster: 'prod',
    issuer: 'https://dex.example.com/dex',
    clientId: 'k8s-auth',
    scopes: ['openid', 'groups'],
    loginHint: 'jane@example.com',
    extra: ['--catalog', '/etc/k8s-auth/catalog.yaml', '--grant', 'device-code'],
  });

  it('carries what the hot path needs, then the full-path options', () => {
    expect(args).toEqual([
      'credential', 'prod',
      '--issuer', 'https://dex.example.com/dex',
      '--client-id', 'k8s-auth',
      '--scopes', 'openid groups',
      '--login-hint', 'jane@example.com',
      '--catalog', '/etc/k8s-auth/catalog.yaml', '--grant', 'device-code',
    ]);
    const flags = readCredentialFlags(args.slice(2));
    expect(flags && Object.fromEntries(flags)).toEqual({
      '--issuer': 'https://dex.example.com/dex',
      '--client-id': 'k8s-auth',
      '--scopes': 'openid groups',
      '--login-hint': 'jane@example.com',
    });
  });

  it('hot-path flag reading accepts --flag=value and bails on help, verbose and a dangling flag', () => {
    expect(readCredentialFlags(['--issuer=https://x', '--skew=30s'])?.get('--skew')).toBe('30s');
    expect(readCredentialFlags(['--issuer', 'https://x', '--verbose'])).toBeUndefined();
    expect(readCredentialFlags(['-h'])).toBeUndefined();
    expect(readCredentialFlags(['--issuer'])).toBeUndefined();
  });

  it('a cache lookup (not the hot path) reads past --verbose and --', () => {
    const flags = readCredentialFlags(['--verbose', '--issuer', 'https://x', '--', '--login-hint=jane'], { hotPath: false });
    expect(flags?.get('--issuer')).toBe('https://x');
    expect(flags?.get('--login-hint')).toBe('jane');
  });

  it('has interactiveMode IfAvailable and an install hint, in v1 and v1beta1 (which kubectl 1.20 reads, ignoring interactiveMode)', () => {
    const v1 = buildExecUser({ apiVersion: EXEC_API_V1, command: 'k8s-auth', args });
    expect(v1.exec).toMatchObject({ apiVersion: EXEC_API_V1, command: 'k8s-auth', args, interactiveMode: 'IfAvailable', provideClusterInfo: false });
    // the package is not on the registry: the hint gives the install that works from a clone
    expect(String(v1.exec['installHint'])).toContain('npm ci && npm install --global .');
    expect(String(v1.exec['installHint'])).not.toMatch(/npm install (--global|-g) k8s-auth\b/);
    const beta = buildExecUser({ apiVersion: EXEC_API_V1BETA1, command: '/opt/bin/k8s-auth', args, env: [{ name: 'VAULT_ADDR', value: 'https://vault' }] });
    expect(beta.exec).toMatchObject({ apiVersion: EXEC_API_V1BETA1, interactiveMode: 'IfAvailable' });
    expect(beta.exec['env']).toEqual([{ name: 'VAULT_ADDR', value: 'https://vault' }]);
  });
});
