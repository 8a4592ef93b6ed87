/**
 * A transport failure talking to the Kubernetes API, shaped so `transportError`
 * (adapters/http.ts) can classify it. Its own module so the direct TokenRequest path can throw
 * it without loading the client-node HTTP library and its proxy agents.
 */
export class KubeTransportError extends Error {
  constructor(message: string, options: { cause?: unknown; name?: string }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = options.name ?? 'KubeTransportError';
  }
}
