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

let ipServernameWarningSilenced = false;

/**
 * Some TLS clients (grpc-js for Dex's API) pass the host as the TLS server name even when it is
 * an IP address; Node then prints a DeprecationWarning (DEP0123) on stderr. The certificate is
 * still checked against that IP: drop that one warning, nothing else.
 */
export function silenceIpServernameWarning(): void {
  if (ipServernameWarningSilenced) return;
  ipServernameWarningSilenced = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const code = typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}
