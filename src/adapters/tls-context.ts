import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

/**
 * A TLS context that trusts the system roots AND the given CAs (never replacing the roots).
 *
 * The documented way, `createSecureContext({ ca: [...rootCertificates, ...extra] })`, parses all
 * ~140 roots again (~20 ms, paid before the browser opens, once for Vault and once for the
 * provider). Node's own context for the default roots is cheap, and its native `addCACert`
 * adds to a store owned by that context alone, so we use it when present and fall back to the
 * documented form otherwise. Build one per client and reuse it for every connection.
 */
export function secureContextWithExtraCas(extraPems: readonly string[]): SecureContext {
  if (extraPems.length === 0) return createSecureContext();
  const context = createSecureContext();
  const native = (context as unknown as { context?: { addCACert?: (pem: string) => void } }).context;
  if (typeof native?.addCACert === 'function') {
    for (const pem of extraPems) native.addCACert(pem);
    return context;
  }
  return createSecureContext({ ca: [...rootCertificates, ...extraPems] });
}
