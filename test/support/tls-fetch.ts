// A fetch that trusts the system roots PLUS a test CA (never instead of them), for clients
// such as openid-client (pass it as options[customFetch]) or plain HTTPS calls in tests.
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';

export interface TrustingFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** closes the underlying connection pool */
  close(): Promise<void>;
}

export function fetchTrusting(caPem: string | string[]): TrustingFetch {
  const extra = Array.isArray(caPem) ? caPem : [caPem];
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, ...extra] } });
  const f = ((input: string | URL | Request, init?: RequestInit) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], {
      ...(init as Parameters<typeof undiciFetch>[1]),
      dispatcher,
    }) as unknown as Promise<Response>) as TrustingFetch;
  f.close = () => dispatcher.close();
  return f;
}
