import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { DexClientSpec } from '../core/clusters/index.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { registerSecret } from '../ui/redact.js';
import { debug } from '../ui/log.js';
import { isIP } from 'node:net';
import { silenceIpServernameWarning } from './tls-context.js';

/**
 * Dex's gRPC API (api/v2, src/adapters/dex-api/api.proto, loaded at run time), over TLS: the
 * system roots plus --dex-ca, and a client certificate when Dex asks for one (grpc.tlsClientCA).
 * Only the client calls `clusters add|remove|rotate-secret|list` need.
 */
export interface DexGrpcOptions {
  /** host:port of Dex's `grpc.addr` */
  address: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  timeoutMs: number;
}

export interface DexClientInfo {
  id: string;
  name: string;
  public: boolean;
  redirectUris: string[];
  trustedPeers: string[];
}

/** What the use cases need of Dex; tests may stand in for it. */
export interface DexApi {
  readonly address: string;
  issuer(): Promise<string>;
  /** undefined when Dex has no client of that ID */
  getClient(id: string): Promise<DexClientSpec | undefined>;
  /** false when a client of that ID already exists (nothing was changed) */
  createClient(client: DexClientSpec): Promise<boolean>;
  /** false when there was no such client */
  deleteClient(id: string): Promise<boolean>;
  listClients(): Promise<DexClientInfo[]>;
  close(): void;
}

interface WireClient {
  id?: string;
  secret?: string;
  redirect_uris?: string[];
  trusted_peers?: string[];
  public?: boolean;
  name?: string;
}

type Callback<T> = (error: grpc.ServiceError | null, value?: T) => void;
type Unary = (request: object, options: grpc.CallOptions, callback: Callback<unknown>) => grpc.ClientUnaryCall;
type DexStub = grpc.Client & Record<'GetClient' | 'CreateClient' | 'DeleteClient' | 'ListClients' | 'GetDiscovery', Unary>;

function protoPath(): string {
  // beside this file under src/ (tests), or ../../src/adapters/dex-api from dist/adapters
  const candidates = [new URL('./dex-api/api.proto', import.meta.url), new URL('../../src/adapters/dex-api/api.proto', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new CliError(ExitCode.INTERNAL, `Dex's api.proto is missing from this install (looked in ${candidates.join(', ')})`);
  return found;
}

function readPem(path: string | undefined, flag: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(ExitCode.USAGE, `cannot read ${flag} ${path}: ${describeError(error)}`);
  }
}

/** One line for a failed call: what, where, and the gRPC status in words. */
export function dexError(error: unknown, what: string, address: string): CliError {
  const e = error as Partial<grpc.ServiceError>;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const detail = (e.details ?? describeError(error)).split('\n')[0];
  const where = `Dex gRPC at ${address}`;
  if (code === grpc.status.UNAVAILABLE) {
    const tls = /certificate|SSL|handshake|self.signed|issuer/i.test(detail ?? '');
    return new CliError(ExitCode.PROVIDER, tls ? `${where}: TLS failed while ${what} (${detail}): pass Dex's gRPC CA with --dex-ca, and --dex-cert/--dex-key if Dex asks for a client certificate` : `${where} is unreachable while ${what} (${detail}): check --dex-grpc and that Dex's grpc.addr listens there`, { cause: error });
  }
  if (code === grpc.status.DEADLINE_EXCEEDED) return new CliError(ExitCode.PROVIDER, `${where} did not answer while ${what} in time: raise --http-timeout`, { cause: error });
  if (code === grpc.status.UNIMPLEMENTED) return new CliError(ExitCode.PROVIDER, `${where} does not implement ${what}: is this Dex's API (api/v2)?`, { cause: error });
  return new CliError(ExitCode.PROVIDER, `${where} failed ${what}: ${code === undefined ? '' : `${grpc.status[code] ?? code}: `}${detail}`, { cause: error });
}

function toSpec(wire: WireClient): DexClientSpec {
  const secret = wire.secret ?? '';
  if (secret !== '') registerSecret(secret);
  return { id: wire.id ?? '', name: wire.name ?? '', secret, redirectUris: wire.redirect_uris ?? [], trustedPeers: wire.trusted_peers ?? [], public: wire.public === true };
}

export function connectDex(options: DexGrpcOptions): DexApi {
  const definition = protoLoader.loadSync(protoPath(), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { api: { Dex: new (address: string, credentials: grpc.ChannelCredentials) => DexStub } };
  const extraCa = readPem(options.caFile, '--dex-ca');
  const roots = Buffer.from([...rootCertificates, ...(extraCa ? [extraCa.toString('utf8')] : [])].join('\n'));
  const key = readPem(options.keyFile, '--dex-key');
  const cert = readPem(options.certFile, '--dex-cert');
  if ((key === undefined) !== (cert === undefined)) throw new CliError(ExitCode.USAGE, '--dex-cert and --dex-key go together');
  // grpc-js passes an IP host as the TLS server name (Node's DEP0123 warning); the certificate is
  // still checked against that IP
  if (isIP(options.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')) !== 0) silenceIpServernameWarning();
  const stub = new loaded.api.Dex(options.address, grpc.credentials.createSsl(roots, key ?? null, cert ?? null));
  debug(`Dex gRPC ${options.address}${options.caFile ? ` (CA ${options.caFile})` : ''}${cert ? ' with a client certificate' : ''}`);
  // calls still under way when the command ends (the other side failed first) are cancelled on close
  const pending = new Set<grpc.ClientUnaryCall>();
  const call = <T>(method: 'GetClient' | 'CreateClient' | 'DeleteClient' | 'ListClients' | 'GetDiscovery', request: object, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const inFlight = stub[method](request, { deadline: Date.now() + options.timeoutMs }, (error, value) => {
        pending.delete(inFlight);
        if (error) reject(dexError(error, what, options.address));
        else resolve(value as T);
      });
      pending.add(inFlight);
    });
  return {
    address: options.address,
    async issuer() {
      const answer = await call<{ issuer?: string }>('GetDiscovery', {}, 'reading its discovery');
      if (!answer.issuer) throw new CliError(ExitCode.PROVIDER, `Dex gRPC at ${options.address} answered its discovery without an issuer`);
      return answer.issuer;
    },
    async getClient(id) {
      try {
        const answer = await call<{ client?: WireClient | null }>('GetClient', { id }, `reading client '${id}'`);
        return answer.client ? toSpec(answer.client) : undefined;
      } catch (error) {
        // Dex returns storage.ErrNotFound as is: status UNKNOWN, details "not found"
        const cause = (error as CliError).cause as Partial<grpc.ServiceError> | undefined;
        if (cause?.code === grpc.status.NOT_FOUND || (cause?.code === grpc.status.UNKNOWN && /not found/i.test(cause.details ?? ''))) return undefined;
        throw error;
      }
    },
    async createClient(client) {
      const wire: WireClient = { id: client.id, name: client.name, secret: client.secret, redirect_uris: client.redirectUris, trusted_peers: client.trustedPeers, public: client.public };
      const answer = await call<{ already_exists?: boolean }>('CreateClient', { client: wire }, `creating client '${client.id}'`);
      return answer.already_exists !== true;
    },
    async deleteClient(id) {
      const answer = await call<{ not_found?: boolean }>('DeleteClient', { id }, `deleting client '${id}'`);
      return answer.not_found !== true;
    },
    async listClients() {
      const answer = await call<{ clients?: WireClient[] }>('ListClients', {}, 'listing clients');
      return (answer.clients ?? []).map((c) => {
        const { secret: _secret, ...info } = toSpec(c);
        return info;
      });
    },
    close: () => {
      for (const inFlight of pending) inFlight.cancel();
      stub.close();
    },
  };
}
