import { describe, expect, it } from 'vitest';
import type { DoctorObservations, EntrySummary } from '../../src/core/doctor/observations.js';
import { doctorReport, renderReport, reportData } from '../../src/core/doctor/report.js';
import {
  apiServerVerdict,
  catalogVerdict,
  kubeconfigVerdict,
  locksVerdict,
  providerVerdict,
  redirectVerdict,
  relativeTime,
  tokensVerdict,
  vaultVerdict,
} from '../../src/core/doctor/verdicts.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');
const issuer = 'https://dex.example.com/dex';
const entry: EntrySummary = { server: 'https://k8s:6443', issuerUrl: issuer, clientId: 'k8s-auth', confidential: false, hasServerCa: true, hasIdpCa: false, extraScopes: [] };
const goodDiscovery = {
  issuer,
  authorization_endpoint: `${issuer}/auth`,
  token_endpoint: `${issuer}/token`,
  jwks_uri: `${issuer}/keys`,
  code_challenge_methods_supported: ['S256', 'plain'],
  scopes_supported: ['openid', 'email', 'groups', 'offline_access'],
};

function healthy(): DoctorObservations {
  return {
    cluster: 'prod',
    nowMs: NOW,
    vault: { kind: 'token', address: 'https://vault:8200', ttlSeconds: 3600 * 20, renewable: true, policies: ['default', 'k8s-auth'] },
    catalog: { kind: 'entry', source: 'Vault https://vault:8200 secret/k8s-auth/clusters', cluster: 'prod', entry },
    provider: { kind: 'probed', issuerUrl: issuer, caSources: ['system roots'], discovery: { status: 200, document: goodDiscovery }, jwks: { status: 200, keys: 2 } },
    redirect: { kind: 'probed', confidential: false, listener: { redirectUri: 'http://127.0.0.1:40000/callback', hosts: ['127.0.0.1'] }, roundTrip: { reached: true, status: 200, path: '/callback' } },
    kubeconfig: { files: [{ path: '/home/jane/.kube/config', exists: true, readable: true, writable: true, mode: 0o600 }], context: { kind: 'found', name: 'prod', cluster: 'prod', user: 'prod', server: 'https://k8s:6443', auth: 'oidc' } },
    locks: { checked: ['/home/jane/.kube/config.lock'], held: [] },
    tokens: { kind: 'found', mode: 'oidc', source: '/home/jane/.kube/config', idToken: { expiresAtMs: NOW + 30 * 60_000, issuer }, hasRefreshToken: true, expectedIssuer: issuer },
    apiServer: { kind: 'probed', server: 'https://k8s:6443', credentials: 'id-token', review: 'SelfSubjectReview', answer: { status: 201, username: 'jane@example.com', groups: ['developers', 'system:authenticated'] } },
  };
}

describe('doctorReport', () => {
  it('passes everything when everything is right', () => {
    const report = doctorReport(healthy());
    expect(report.checks.map((c) => [c.id, c.verdict])).toEqual([
      ['vault', 'pass'],
      ['catalog', 'pass'],
      ['provider', 'pass'],
      ['redirect-uri', 'pass'],
      ['kubeconfig', 'pass'],
      ['locks', 'pass'],
      ['tokens', 'pass'],
      ['api-server', 'pass'],
    ]);
    expect(report.ok).toBe(true);
    expect(report.summary).toEqual({ pass: 8, warn: 0, fail: 0, skip: 0 });
    expect(report.checks.find((c) => c.id === 'api-server')?.detail).toContain('knows you as jane@example.com (groups: developers, system:authenticated)');
  });

  it('fails the report on one failed check, not on a warning', () => {
    const warned = healthy();
    warned.vault = { kind: 'token', address: 'https://vault:8200', ttlSeconds: 120, renewable: true, policies: [] };
    expect(doctorReport(warned).ok).toBe(true);
    const failed = healthy();
    failed.vault = { kind: 'error', address: 'https://vault:8200', error: { message: 'Vault at https://vault:8200 is sealed or unavailable (503)', status: 503 } };
    const report = doctorReport(failed);
    expect(report.ok).toBe(false);
    expect(report.summary.fail).toBe(1);
  });

  it('renders one line per check with a fix under failures, and stable data', () => {
    const o = healthy();
    o.tokens = { kind: 'found', mode: 'oidc', source: '/k', idToken: { expiresAtMs: NOW - 60_000, issuer }, hasRefreshToken: false, expectedIssuer: issuer };
    const report = doctorReport(o);
    const text = renderReport(report);
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => /^(✓ pass|✗ FAIL|! warn|- skip) /.test(l))).toHaveLength(8);
    const failLine = lines.findIndex((l) => l.startsWith('✗ FAIL  tokens'));
    expect(lines[failLine + 1]).toMatch(/^ +fix: sign in again: k8s-auth login prod$/);
    expect(lines.at(-1)).toBe('doctor: 1 failed, 0 warnings, 7 passed, 0 skipped for prod');
    expect(renderReport(report, undefined, true).trimEnd().split('\n')).toHaveLength(3);
    const data = reportData(report) as { checks: { fix: string | null }[] };
    expect(Object.keys(data)).toEqual(['cluster', 'ok', 'summary', 'checks']);
    expect(data.checks[0]).toEqual({ id: 'vault', title: 'Vault reachable, token valid', verdict: 'pass', detail: expect.any(String), fix: null });
  });
});

describe('vault', () => {
  it.each([
    [{ message: 'Vault at x rejected the token (401)', status: 401 }, /vault login/],
    [{ message: 'Vault denied (403 permission denied)', status: 403 }, /vault login/],
    [{ message: 'sealed', status: 503 }, /unsealed/],
    [{ message: 'no Vault token: run `vault login`' }, /VAULT_TOKEN/],
    [{ message: 'TLS not trusted', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, /VAULT_CACERT/],
    [{ message: 'refused', code: 'ECONNREFUSED' }, /VAULT_ADDR/],
  ])('fails with a fix for %j', (error, fix) => {
    const r = vaultVerdict({ kind: 'error', error });
    expect(r.verdict).toBe('fail');
    expect(r.fix).toMatch(fix);
  });

  it('skips a file catalog and passes a token that never expires', () => {
    expect(vaultVerdict({ kind: 'not-used', catalog: '/c.yaml' }).verdict).toBe('skip');
    expect(vaultVerdict({ kind: 'token', address: 'a', ttlSeconds: 0, renewable: false, policies: ['root'] }).detail).toContain('no expiry');
  });
});

describe('catalog', () => {
  it('fails a missing or malformed entry with the right fix', () => {
    const missing = catalogVerdict({ kind: 'error', source: '/c.yaml', cluster: 'x', error: { message: "cluster 'x' not found in /c.yaml (known: prod)" } });
    expect([missing.verdict, missing.fix]).toEqual(['fail', expect.stringContaining('k8s-auth clusters')]);
    const bad = catalogVerdict({ kind: 'error', source: '/c.yaml', cluster: 'x', error: { message: "cluster 'x' in /c.yaml: required field 'client-id' is missing" } });
    expect(bad.fix).toContain('docs/configuration.md');
    expect(catalogVerdict({ kind: 'listed', source: '/c.yaml', names: [] }).verdict).toBe('warn');
  });
});

describe('provider', () => {
  const probed = (patch: object) => ({ kind: 'probed' as const, issuerUrl: issuer, caSources: ['system roots'], discovery: { status: 200, document: goodDiscovery }, jwks: { status: 200, keys: 1 }, ...patch });

  it('fails an untrusted certificate, pointing at the CA fields', () => {
    const r = providerVerdict(probed({ discovery: { error: { message: 'not trusted', code: 'SELF_SIGNED_CERT_IN_CHAIN' } } }));
    expect(r.verdict).toBe('fail');
    expect(r.detail).toContain('SELF_SIGNED_CERT_IN_CHAIN');
    expect(r.fix).toContain('idp-certificate-authority-data');
  });

  it('fails a wrong issuer, a 404 and non-JSON discovery', () => {
    const mismatch = providerVerdict(probed({ discovery: { status: 200, document: { ...goodDiscovery, issuer: 'https://other' } } }));
    expect([mismatch.verdict, mismatch.fix]).toEqual(['fail', "set issuer-url to 'https://other' exactly (kube-apiserver's --oidc-issuer-url must match it too)"]);
    expect(providerVerdict(probed({ discovery: { status: 404 } })).verdict).toBe('fail');
    expect(providerVerdict(probed({ discovery: { status: 200, parseError: 'Unexpected end' } })).verdict).toBe('fail');
    expect(providerVerdict(probed({ jwks: { status: 200, keys: 0 } })).verdict).toBe('fail');
  });

  it('warns when refresh tokens or PKCE are not advertised', () => {
    const r = providerVerdict(probed({ discovery: { status: 200, document: { ...goodDiscovery, scopes_supported: ['openid'], code_challenge_methods_supported: ['plain'] } } }));
    expect(r.verdict).toBe('warn');
    expect(r.detail).toContain('offline_access');
    expect(r.fix).toContain('PKCE');
  });
});

describe('redirect-uri', () => {
  const listener = { redirectUri: 'http://127.0.0.1:8000/', hosts: ['127.0.0.1'] };
  it('fails when the URI sent would differ from the configured one', () => {
    const r = redirectVerdict({ kind: 'probed', confidential: true, configured: 'http://127.0.0.1:8000', listener, roundTrip: { reached: true, status: 200 } });
    expect(r.verdict).toBe('fail');
    expect(r.detail).toContain('http://127.0.0.1:8000/');
  });

  it('fails a port in use and a request that never reaches the listener', () => {
    expect(redirectVerdict({ kind: 'probed', confidential: false, listener: { error: { message: 'in use', code: 'EADDRINUSE' } } }).fix).toContain('other sign-in');
    expect(redirectVerdict({ kind: 'probed', confidential: false, listener, roundTrip: { error: { message: 'proxy said no' } } }).verdict).toBe('fail');
  });

  it('warns a confidential client on a random port', () => {
    const r = redirectVerdict({ kind: 'probed', confidential: true, listener, roundTrip: { reached: true, status: 200 } });
    expect(r.verdict).toBe('warn');
  });
});

describe('kubeconfig and locks', () => {
  it('fails unparsable, unwritable files and a missing context; warns loose modes', () => {
    const file = { path: '/k', exists: true, readable: true, writable: true, mode: 0o600 };
    expect(kubeconfigVerdict({ files: [{ ...file, parseError: 'kubeconfig /k is not valid YAML' }], context: { kind: 'not-asked' } }).verdict).toBe('fail');
    expect(kubeconfigVerdict({ files: [{ ...file, writable: false }], context: { kind: 'not-asked' } }).fix).toContain('chmod u+w /k');
    expect(kubeconfigVerdict({ files: [file], context: { kind: 'missing', name: 'prod', error: "context 'prod' not found" } }).fix).toBe('sign in: k8s-auth login prod');
    expect(kubeconfigVerdict({ files: [{ ...file, mode: 0o644 }], context: { kind: 'not-asked' } })).toMatchObject({ verdict: 'warn', fix: 'chmod 600 /k' });
  });

  it('fails a lock whose holder is gone and an old empty lock; warns a long-held one', () => {
    const gone = locksVerdict({ checked: ['/k.lock'], held: [{ path: '/k.lock', holder: { pid: 4242, host: 'h', createdAt: '' }, sameHost: true, holderAlive: false, ageMs: 5_000 }] });
    expect([gone.verdict, gone.fix]).toEqual(['fail', 'rm /k.lock']);
    expect(locksVerdict({ checked: [], held: [{ path: '/k.lock', sameHost: false, ageMs: 120_000 }] }).verdict).toBe('fail');
    expect(locksVerdict({ checked: [], held: [{ path: '/k.lock', sameHost: false, ageMs: 1_000 }] }).verdict).toBe('pass');
    expect(locksVerdict({ checked: [], held: [{ path: '/k.lock', holder: { pid: 1, host: 'h', createdAt: '' }, sameHost: true, holderAlive: true, ageMs: 300_000 }] }).verdict).toBe('warn');
  });
});

describe('tokens and the API server', () => {
  const found = { kind: 'found' as const, mode: 'exec' as const, source: '/cache/x.json', hasRefreshToken: true, expectedIssuer: issuer };
  it('judges expiry and refresh tokens', () => {
    expect(tokensVerdict({ ...found, idToken: { expiresAtMs: NOW - 1000, issuer } }, NOW, 'prod').verdict).toBe('pass');
    expect(tokensVerdict({ ...found, hasRefreshToken: false, idToken: { expiresAtMs: NOW - 1000, issuer } }, NOW, 'prod').verdict).toBe('fail');
    expect(tokensVerdict({ ...found, hasRefreshToken: false, idToken: { expiresAtMs: NOW + 1000, issuer } }, NOW, 'prod').verdict).toBe('warn');
    // the fix names the command that restores the user's form (issue 17, point 2)
    expect(tokensVerdict({ ...found, hasRefreshToken: false }, NOW, 'prod').fix).toBe('sign in: k8s-auth login prod --exec');
    expect(tokensVerdict({ ...found, mode: 'oidc', hasRefreshToken: false }, NOW, 'prod').fix).toBe('sign in: k8s-auth login prod');
    expect(tokensVerdict({ ...found, idToken: { expiresAtMs: NOW + 1000, issuer: 'https://other' } }, NOW, 'prod').verdict).toBe('fail');
    expect(tokensVerdict({ ...found, problem: 'is not valid JSON' }, NOW, 'prod').fix).toContain('rm /cache/x.json');
    expect(tokensVerdict({ ...found, idToken: { expiresAtMs: NOW + 1000, issuer }, fileMode: 0o644 }, NOW, 'prod').verdict).toBe('warn');
  });

  it('fails a 401 naming the apiserver flags, and TLS trouble', () => {
    const base = { kind: 'probed' as const, server: 'https://k8s:6443', credentials: 'id-token' as const };
    const r = apiServerVerdict({ ...base, review: 'SelfSubjectReview', answer: { status: 401 } }, { issuerUrl: issuer, clientId: 'k8s-auth' });
    expect(r.verdict).toBe('fail');
    expect(r.fix).toContain(`--oidc-issuer-url=${issuer} --oidc-client-id=k8s-auth`);
    expect(apiServerVerdict({ ...base, error: { message: 'x', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } }).fix).toContain('certificate-authority-data');
    expect(apiServerVerdict({ ...base, review: 'SelfSubjectAccessReview', answer: { status: 201, allowed: true } }).verdict).toBe('pass');
    expect(apiServerVerdict({ ...base, credentials: 'none', noCredentialsReason: 'the ID token has expired (kubectl renews it with the refresh token on next use)', answer: { status: 401 } }).verdict).toBe('warn');
  });

  it('formats relative times', () => {
    expect(relativeTime(NOW + 42 * 60_000, NOW)).toBe('in 42m');
    expect(relativeTime(NOW + (3 * 3600 + 300) * 1000, NOW)).toBe('in 3h 5m');
    expect(relativeTime(NOW - 90_000, NOW)).toBe('1m ago');
    expect(relativeTime(NOW + 3600_000, NOW)).toBe('in 1h');
    expect(relativeTime(NOW + 2 * 86_400_000, NOW)).toBe('in 2d');
  });
});
