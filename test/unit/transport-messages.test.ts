import { describe, expect, it } from 'vitest';
import { TRUST_HINTS, formatTimeout, transportError } from '../../src/adapters/http.js';
import { ExitCode } from '../../src/errors.js';

const tlsFailure = (code: string): Error => new TypeError('fetch failed', { cause: Object.assign(new Error('bad certificate'), { code }) });
const timeout = (): Error => Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });

describe('formatTimeout', () => {
  it('says sub-100 ms timeouts in milliseconds and the rest in seconds, never "0s"', () => {
    expect(formatTimeout(1)).toBe('1ms');
    expect(formatTimeout(0.4)).toBe('1ms');
    expect(formatTimeout(50)).toBe('50ms');
    expect(formatTimeout(400)).toBe('0.4s');
    expect(formatTimeout(500)).toBe('0.5s');
    expect(formatTimeout(1000)).toBe('1s');
    expect(formatTimeout(1500)).toBe('1.5s');
    expect(formatTimeout(30_000)).toBe('30s');
  });
});

describe('transportError', () => {
  it('a timeout of --http-timeout 0.001 (1 ms) is reported as 1ms, not 0s', () => {
    const error = transportError(timeout(), 'identity provider', 'https://127.0.0.1:1/dex/.well-known/openid-configuration', 1, ExitCode.PROVIDER);
    expect(error.message).toBe('identity provider at https://127.0.0.1:1/dex/.well-known/openid-configuration did not answer within 1ms: check the address and your network, or raise --http-timeout');
    expect(error.exitCode).toBe(ExitCode.PROVIDER);
  });

  it("names where the peer's CA goes: the hint given, else the catalog provider's", () => {
    const url = 'https://127.0.0.1:6443/api';
    expect(transportError(tlsFailure('SELF_SIGNED_CERT_IN_CHAIN'), 'Kubernetes API server', url, 1000, ExitCode.KUBERNETES, TRUST_HINTS.apiServer).message).toBe(
      "TLS certificate of Kubernetes API server at https://127.0.0.1:6443/api is not trusted (SELF_SIGNED_CERT_IN_CHAIN): put its CA in the kubeconfig cluster's certificate-authority (file) or certificate-authority-data rather than disabling verification",
    );
    expect(transportError(tlsFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'identity provider', url, 1000, ExitCode.PROVIDER, TRUST_HINTS.rbacIssuerFlags).message).toMatch(
      /is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): pass its CA with --idp-ca-file FILE \(or, with --cluster, the catalog entry's idp-certificate-authority-data\) rather than disabling verification$/,
    );
    expect(transportError(tlsFailure('DEPTH_ZERO_SELF_SIGNED_CERT'), 'identity provider', url, 1000, ExitCode.PROVIDER).message).toMatch(
      /: pass its CA with --certificate-authority FILE, or put it in the catalog entry's idp-certificate-authority-data rather than disabling verification$/,
    );
  });

  it('every hint names a different place, and none is the old generic "e.g." text', () => {
    const hints = Object.values(TRUST_HINTS);
    expect(new Set(hints).size).toBe(hints.length);
    for (const hint of hints) expect(hint).not.toMatch(/e\.g\./);
  });
});
