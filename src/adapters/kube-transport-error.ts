import { CliError, ExitCode } from '../errors.js';

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

/** The one line for an API server answer past its cap (a CliError: never retried, it would do it again). */
export function kubeBodyTooLarge(origin: string, limit: number): CliError {
  const size = limit >= 1024 * 1024 ? `${limit / (1024 * 1024)} MiB` : `${limit} bytes`;
  return new CliError(ExitCode.KUBERNETES, `Kubernetes API server at ${origin} answered with more than ${size}: it is not answering as an API server should; check the kubeconfig's server address`);
}
