import { describe, expect, it } from 'vitest';
import { credsError } from '../../src/adapters/vault-kubernetes-creds.js';
import { vaultErrorDetail } from '../../src/core/vault-error-detail.js';

describe('vaultErrorDetail', () => {
  it('takes the first error, first line', () => {
    expect(vaultErrorDetail({ errors: ['permission denied'] })).toBe('permission denied');
    expect(vaultErrorDetail({ errors: ["role 'x' does not exist", 'other'] })).toBe("role 'x' does not exist");
    expect(vaultErrorDetail({ errors: ['first line\nsecond line'] })).toBe('first line');
  });
  it("unwraps go-multierror's text (what Vault and OpenBao send for an ACL denial of a valid token)", () => {
    // the body OpenBao 2.7.2 answered in test/integration/catalog-vault.test.ts
    expect(vaultErrorDetail({ errors: ['1 error occurred:\n\t* permission denied\n\n'] })).toBe('permission denied');
    expect(vaultErrorDetail({ errors: ['2 errors occurred:\n\t* ttl too long\n\t* bad namespace\n\n'] })).toBe('ttl too long');
  });
  it('nothing usable: undefined', () => {
    expect(vaultErrorDetail(undefined)).toBeUndefined();
    expect(vaultErrorDetail('<html>')).toBeUndefined();
    expect(vaultErrorDetail({ errors: [] })).toBeUndefined();
    expect(vaultErrorDetail({ errors: ['  '] })).toBeUndefined();
    expect(vaultErrorDetail({ errors: [42] })).toBeUndefined();
  });
});

describe('credsError hints (Kubernetes secrets engine refusals)', () => {
  const input = { mount: 'kubernetes', role: 'ci', namespace: 'ci', ttlSeconds: 3600, audiences: [] };
  const answer = (statusCode: number, message: string) => ({ response: { statusCode, body: { errors: [message] } } });
  it("names --namespace only for the engine's namespace check", () => {
    expect(credsError(answer(400, "kubernetes_namespace 'x' is not present in role's allowed_kubernetes_namespaces or does not match role's label selector allowed_kubernetes_namespace_selector"), input, 'https://v').message).toMatch(/: pass a --namespace the role allows$/);
    // what OpenBao 2.7.2 answered when its cluster was down: the URL holds "namespaces", the hint must not
    const down = credsError(answer(500, '1 error occurred:\n\t* failed to create a service account token for ci/deployer: Post "https://127.0.0.1:1/api/v1/namespaces/ci/serviceaccounts/deployer/token": dial tcp 127.0.0.1:1: connect: connection refused\n\n'), input, 'https://v');
    expect(down.message).toBe("Vault refused to mint a token for role 'ci' in namespace ci (500: failed to create a service account token for ci/deployer: Post \"https://127.0.0.1:1/api/v1/namespaces/ci/serviceaccounts/deployer/token\": dial tcp 127.0.0.1:1: connect: connection refused)");
  });
  it('a 403 says permission denied, not the multierror header', () => {
    expect(credsError(answer(403, '1 error occurred:\n\t* permission denied\n\n'), input, 'https://v').message).toContain('(403 permission denied)');
  });
});

describe('credsError: a 400 about the ttl asks for a shorter --ttl', () => {
  it('(no real OpenBao refuses this way: it caps at token_max_ttl; the wording is kept for servers that do)', () => {
    const input = { mount: 'kubernetes', role: 'strict', namespace: 'ci', ttlSeconds: 43_200, audiences: [] };
    const error = { response: { statusCode: 400, body: { errors: ["ttl of 12h0m0s is greater than the role's token_max_ttl of 1h0m0s"] } } };
    expect(credsError(error, input, 'https://v').message).toBe("Vault refused to mint a token for role 'strict' in namespace ci (400: ttl of 12h0m0s is greater than the role's token_max_ttl of 1h0m0s): ask for a shorter --ttl");
  });
});
