import { describe, expect, it } from 'vitest';
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
