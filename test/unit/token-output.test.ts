import { describe, expect, it } from 'vitest';
import {
  checkGrant,
  checkTokenOutput,
  execCredential,
  jwtTimes,
  renderTokenOutput,
  renderTokenYaml,
  tokenContextName,
  tokenKubeconfig,
  tokenRecord,
  type MintedToken,
} from '../../src/core/token-output.js';
import { rfc3339 } from '../../src/core/exec-credential.js';
import { CliError, ExitCode } from '../../src/errors.js';

function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2lnbmF0dXJl`;
}

const minted: MintedToken = {
  token: 'header.payload.signature',
  expirationTimestamp: '2030-01-02T03:04:05Z',
  serviceAccount: 'jane-example-com',
  namespace: 'default',
  cluster: 'prod',
};

describe('token output', () => {
  it('prints the bare token with a newline', () => {
    expect(renderTokenOutput('token', minted)).toBe('header.payload.signature\n');
  });

  it('prints the JSON record with exactly the documented fields', () => {
    const parsed: unknown = JSON.parse(renderTokenOutput('json', minted));
    expect(parsed).toEqual({
      token: 'header.payload.signature',
      expirationTimestamp: '2030-01-02T03:04:05Z',
      serviceAccount: 'jane-example-com',
      namespace: 'default',
      cluster: 'prod',
    });
  });

  it('prints the same record as YAML with -o yaml (same fields, token on one line)', async () => {
    const { parse, stringify } = await import('yaml');
    const text = renderTokenYaml({ ...minted, leaseId: 'kubernetes/creds/ci/abc' }, stringify);
    expect(parse(text)).toEqual(JSON.parse(renderTokenOutput('json', { ...minted, leaseId: 'kubernetes/creds/ci/abc' })));
    expect(text).toContain('token: header.payload.signature\n');
  });

  it('adds the Vault lease id to the JSON record only when there is one', () => {
    expect(tokenRecord({ ...minted, leaseId: 'kubernetes/creds/ci/abc' }).leaseId).toBe('kubernetes/creds/ci/abc');
    expect('leaseId' in tokenRecord(minted)).toBe(false);
  });

  it('prints a v1 ExecCredential on one line with token and expiry', () => {
    const text = renderTokenOutput('exec-credential', minted);
    expect(text.trim()).not.toContain('\n');
    expect(JSON.parse(text)).toEqual(execCredential(minted));
    expect(execCredential(minted)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      spec: { interactive: false },
      status: { token: 'header.payload.signature', expirationTimestamp: '2030-01-02T03:04:05Z' },
    });
  });

  it('builds a self-contained kubeconfig with context <sa>@<cluster>', () => {
    const config = tokenKubeconfig(minted, { server: 'https://127.0.0.1:6443', certificateAuthorityData: 'Q0E=', tlsServerName: 'kube' });
    expect(tokenContextName('jane-example-com', 'prod')).toBe('jane-example-com@prod');
    expect(config).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [{ name: 'prod', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Q0E=', 'tls-server-name': 'kube' } }],
      users: [{ name: 'jane-example-com@prod', user: { token: 'header.payload.signature' } }],
      contexts: [{ name: 'jane-example-com@prod', context: { cluster: 'prod', user: 'jane-example-com@prod', namespace: 'default' } }],
      'current-context': 'jane-example-com@prod',
    });
  });

  it('keeps insecure-skip-tls-verify only when set', () => {
    const config = tokenKubeconfig(minted, { server: 'https://x', insecureSkipTlsVerify: true });
    expect(config.clusters[0]?.cluster).toEqual({ server: 'https://x', 'insecure-skip-tls-verify': true });
  });
});

describe('checkTokenOutput', () => {
  it('refuses a default-format token on a TTY with one line telling what to do', () => {
    let caught: unknown;
    try {
      checkTokenOutput({ format: 'token', explicit: false, stdoutIsTty: true });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CliError);
    expect((caught as CliError).exitCode).toBe(ExitCode.USAGE);
    expect((caught as CliError).message).toMatch(/^refusing to print a token on a terminal: pass -o token/);
    expect((caught as CliError).message).not.toContain('\n');
  });

  it.each([
    { format: 'token', explicit: true, stdoutIsTty: true },
    { format: 'json', explicit: true, stdoutIsTty: true },
    { format: 'token', explicit: false, stdoutIsTty: false },
    { format: 'kubeconfig', explicit: false, stdoutIsTty: true },
  ] as const)('allows %o', (input) => {
    expect(() => checkTokenOutput(input)).not.toThrow();
  });
});

describe('checkGrant', () => {
  const requestedAt = new Date('2030-01-01T00:00:00Z');

  it('measures the grant from the token iat/exp, ignoring our clock skew', () => {
    const iat = Date.parse('2030-01-01T00:05:00Z') / 1000; // server clock 5 minutes ahead
    const token = fakeJwt({ iat, exp: iat + 43_200 });
    const result = checkGrant({ requestedSeconds: 43_200, requestedAt, expirationTimestamp: rfc3339(new Date((iat + 43_200) * 1000)), token });
    expect(result).toEqual({ grantedSeconds: 43_200, note: undefined });
  });

  it('says so when the server capped the lifetime', () => {
    const iat = requestedAt.getTime() / 1000;
    const token = fakeJwt({ iat, exp: iat + 3_600 });
    const result = checkGrant({ requestedSeconds: 43_200, requestedAt, expirationTimestamp: '2030-01-01T01:00:00Z', token });
    expect(result.grantedSeconds).toBe(3_600);
    expect(result.note).toBe('the server granted 1h, not the 12h asked (it caps token lifetimes); the token expires at 2030-01-01T01:00:00Z');
  });

  it('says so when the server granted more', () => {
    const iat = requestedAt.getTime() / 1000;
    const token = fakeJwt({ iat, exp: iat + 86_400 * 365 });
    expect(checkGrant({ requestedSeconds: 3_607, requestedAt, expirationTimestamp: '2031-01-01T00:00:00Z', token }).note).toMatch(/^the server granted 365d, longer than the 1h7s asked/);
  });

  it('falls back to our clock, with a minute of slack, for opaque tokens', () => {
    const opaque = 'not-a-jwt';
    expect(checkGrant({ requestedSeconds: 3_600, requestedAt, expirationTimestamp: '2030-01-01T01:00:30Z', token: opaque }).note).toBeUndefined();
    const capped = checkGrant({ requestedSeconds: 7_200, requestedAt, expirationTimestamp: '2030-01-01T01:00:00Z', token: opaque });
    expect(capped.grantedSeconds).toBe(3_600);
    expect(capped.note).toContain('not the 2h asked');
    // a second lost to the timestamp's resolution does not show as 59m59s
    expect(checkGrant({ requestedSeconds: 7_200, requestedAt: new Date('2030-01-01T00:00:00.900Z'), expirationTimestamp: '2030-01-01T01:00:00Z', token: opaque }).note).toMatch(/^the server granted 1h, not the 2h asked/);
  });
});

describe('jwtTimes and rfc3339', () => {
  it('reads numeric iat and exp, ignores anything else', () => {
    expect(jwtTimes(fakeJwt({ iat: 10, exp: 20 }))).toEqual({ iat: 10, exp: 20 });
    expect(jwtTimes(fakeJwt({ iat: '10' }))).toEqual({});
    expect(jwtTimes('a.%%%.c')).toEqual({});
    expect(jwtTimes('plain')).toEqual({});
  });

  it('writes UTC seconds without fractions', () => {
    expect(rfc3339(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)))).toBe('2030-01-02T03:04:05Z');
  });
});
