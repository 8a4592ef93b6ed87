import { type Command, Option } from 'commander';
import { collect, httpTimeoutMs, httpTimeoutOption, parsePort } from '../config/sign-in-flags.js';
import type { TokenSource } from '../adapters/proxy-credentials.js';
import type { ProxyServerOptions, UpstreamConnection } from '../adapters/proxy-server.js';
import { CliError, ExitCode } from '../errors.js';

/**
 * `k8s-auth proxy [<cluster>]`: like `kubectl proxy`, signed in as the kubeconfig user; and
 * `k8s-auth proxy serve`: an impersonating front for clusters that cannot be given OIDC flags
 * (docs/proxy.md). The HTTP work is in adapters/proxy-server.ts, the decisions in
 * core/proxy-request.ts.
 */
interface CommonFlags {
  address: string;
  port: string;
  readOnly?: boolean;
  auditLog?: string;
  tlsCert?: string;
  tlsKey?: string;
}

interface LocalFlags extends CommonFlags {
  context?: string;
  kubeconfig?: string;
}

type ServeFlags = CommonFlags & ServeOnlyFlags;

interface ServeOnlyFlags {
  issuer: string;
  clientId: string;
  issuerCa?: string[];
  upstreamKubeconfig: string;
  upstreamContext?: string;
  usernameClaim: string;
  usernamePrefix: string;
  groupsClaim: string;
  groupsPrefix: string;
  httpTimeout?: string;
}

/** In-flight requests get this long to finish after SIGINT/SIGTERM (watches end at once). */
const SHUTDOWN_TIMEOUT_MS = 10_000;

function commonOptions(command: Command, defaultPort: string): Command {
  return command
    .addOption(new Option('--address <ip>', 'address to listen on; anything but loopback needs --tls-cert and --tls-key').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port to listen on, 0 for a free one (proxy serve: 8443 unless given)').default(defaultPort))
    .addOption(new Option('--read-only', 'answer 403 to anything but GET, HEAD and OPTIONS (and refuse exec, attach, port-forward)'))
    .addOption(new Option('--audit-log <file>', 'append one JSON line per request to this file, or - for stdout'))
    .addOption(new Option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)'))
    .addOption(new Option('--tls-key <file>', 'private key of --tls-cert (PEM)'));
}

export function register(program: Command): void {
  const proxy = commonOptions(
    program
      .command('proxy')
      .summary('serve the Kubernetes API locally, signed in as you (or `proxy serve`: an OIDC front for managed clusters)')
      .description(
        'Like `kubectl proxy`, signed in: forward every request to the API server of the context with its user\'s current ' +
          'token (kubeconfig, k8s-auth token cache or exec plugin; renewed ahead of expiry), so dashboards, browsers and ' +
          'scripts that cannot run an exec plugin act as you. Watches stream, upgrades (exec, attach, port-forward) pass, ' +
          '--read-only refuses writes, --audit-log records each request. Plain HTTP on loopback only. `proxy serve` ' +
          'verifies callers\' ID tokens and impersonates them upstream (docs/proxy.md).',
      )
      .argument('[cluster]', 'catalog cluster (its context) or kubeconfig context to serve (default: the current context)')
      .addOption(new Option('--context <name>', 'kubeconfig context to serve (default: the current context)'))
      .addOption(new Option('--kubeconfig <file>', 'kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config)')),
    '8001',
  )
    .action(async (positional: string | undefined, flags: LocalFlags) => {
    await runLocal(positional, flags);
  });

  proxy
      .command('serve')
      .summary('verify OIDC ID tokens and forward as those users (impersonation), for clusters without OIDC flags')
      .description(
        'Accept `Authorization: Bearer <ID token>`, verify it (signature against the issuer\'s keys, iss, aud, exp/nbf, ' +
          'email_verified when the username is the email), drop every client Impersonate-* header, and forward with the ' +
          'upstream kubeconfig\'s identity plus Impersonate-User and one Impersonate-Group per group. A bad token gets 401 ' +
          'with a Kubernetes Status body; nothing is forwarded. The upstream user needs RBAC to impersonate users and groups.',
      )
      .addOption(new Option('--issuer <url>', 'OIDC issuer URL the ID tokens must come from').makeOptionMandatory())
      .addOption(new Option('--client-id <id>', 'client ID the ID tokens must be issued to (aud)').makeOptionMandatory())
      .addOption(new Option('--issuer-ca <file>', "CA (PEM) of the issuer's HTTPS certificate, added to the system roots; repeatable").argParser(collect))
      .addOption(new Option('--upstream-kubeconfig <file>', 'kubeconfig of the cluster to forward to; its user must be allowed to impersonate').makeOptionMandatory())
      .addOption(new Option('--upstream-context <name>', 'context of --upstream-kubeconfig (default: its current context)'))
      .addOption(new Option('--username-claim <claim>', 'claim naming the user').default('email'))
      .addOption(new Option('--username-prefix <prefix>', 'prefix added to the username, as the API server\'s --oidc-username-prefix').default(''))
      .addOption(new Option('--groups-claim <claim>', 'claim listing the groups').default('groups'))
      .addOption(new Option('--groups-prefix <prefix>', 'prefix added to each group').default(''))
      .addOption(httpTimeoutOption({ what: 'request to the issuer (default: 30)' }))
      // --address, --port, --read-only, --audit-log, --tls-cert and --tls-key are proxy's: commander
      // gives an option the parent knows to the parent, wherever it is written, so serve reads them there
      .configureHelp({ showGlobalOptions: true })
      .action(async (flags: ServeOnlyFlags, command: Command) => {
        const parent = command.parent as Command;
        for (const own of ['context', 'kubeconfig'] as const) {
          if (parent.getOptionValueSource(own) !== undefined) throw new CliError(ExitCode.USAGE, `proxy serve takes no --${own}: name the cluster with --upstream-kubeconfig (and --upstream-context)`);
        }
        const common = parent.opts<CommonFlags>();
        await runServe({ ...common, port: parent.getOptionValueSource('port') === 'default' ? '8443' : common.port, ...flags });
      });
}

async function readPem(path: string, flag: string): Promise<string> {
  const { readFileSync } = await import('node:fs');
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const { describeError } = await import('../errors.js');
    throw new CliError(ExitCode.USAGE, `cannot read ${flag} ${path}: ${describeError(error)}`);
  }
}

interface Listening {
  address: string;
  port: number;
  tls: { certPem: string; keyPem: string } | undefined;
  readOnly: boolean;
  audit: ((line: string) => void) | undefined;
  closeAudit: () => Promise<void>;
}

/** Everything about where and how to listen, checked before any network call. */
async function listening(flags: CommonFlags, tlsRequired: boolean): Promise<Listening> {
  const { isLoopbackAddress } = await import('../core/proxy-request.js');
  const port = parsePort(flags.port, '--port', { allowZero: true }) ?? 0;
  const { isIP } = await import('node:net');
  const address = flags.address.replace(/^\[|\]$/g, '');
  if (address !== 'localhost' && isIP(address) === 0) throw new CliError(ExitCode.USAGE, `--address must be an IP address (e.g. 127.0.0.1, ::1, 0.0.0.0), not '${flags.address}'`);
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) throw new CliError(ExitCode.USAGE, `${flags.tlsCert === undefined ? '--tls-key' : '--tls-cert'} needs ${flags.tlsCert === undefined ? '--tls-cert' : '--tls-key'} too`);
  if (tlsRequired && flags.tlsCert === undefined) throw new CliError(ExitCode.USAGE, 'proxy serve needs --tls-cert and --tls-key: ID tokens never travel in plain HTTP');
  if (flags.tlsCert === undefined && !isLoopbackAddress(address)) {
    throw new CliError(ExitCode.USAGE, `--address ${flags.address} is not a loopback address: serving your credentials beyond this machine needs --tls-cert and --tls-key (or use --address 127.0.0.1)`);
  }
  const tls = flags.tlsCert !== undefined && flags.tlsKey !== undefined ? { certPem: await readPem(flags.tlsCert, '--tls-cert'), keyPem: await readPem(flags.tlsKey, '--tls-key') } : undefined;
  if (tls) {
    const { createSecureContext } = await import('node:tls');
    try {
      createSecureContext({ cert: tls.certPem, key: tls.keyPem });
    } catch (error) {
      const { describeError } = await import('../errors.js');
      throw new CliError(ExitCode.USAGE, `--tls-cert and --tls-key are not a usable certificate and key: ${describeError(error)}`);
    }
  }
  let audit: ((line: string) => void) | undefined;
  let closeAudit = (): Promise<void> => Promise.resolve();
  if (flags.auditLog === '-') {
    audit = (line) => process.stdout.write(`${line}\n`);
  } else if (flags.auditLog !== undefined) {
    const { openSync, createWriteStream } = await import('node:fs');
    let fd: number;
    try {
      fd = openSync(flags.auditLog, 'a', 0o600);
    } catch (error) {
      const { describeError } = await import('../errors.js');
      throw new CliError(ExitCode.USAGE, `cannot open --audit-log ${flags.auditLog} for appending: ${describeError(error)}`);
    }
    const stream = createWriteStream('', { fd, flags: 'a' });
    audit = (line) => stream.write(`${line}\n`);
    closeAudit = () => new Promise((resolve) => stream.end(resolve));
  }
  return { address, port, tls, readOnly: Boolean(flags.readOnly), audit, closeAudit };
}

async function upstreamFor(kubeconfig: string | undefined, context: string | undefined) {
  const { readKubeconfigTarget } = await import('../adapters/kubeconfig-target.js');
  const target = await readKubeconfigTarget({ ...(kubeconfig !== undefined ? { kubeconfig } : {}), ...(context !== undefined ? { cluster: context } : {}) });
  if (target.connection.proxyUrl) throw new CliError(ExitCode.KUBECONFIG, `the cluster of context '${target.contextName}' goes through proxy-url ${target.connection.proxyUrl}, which k8s-auth proxy does not support: run it where the API server is reachable directly`);
  const { tokenSourceFor } = await import('../adapters/proxy-credentials.js');
  const selection = { ...(kubeconfig !== undefined ? { kubeconfig } : {}), context: target.contextName };
  const tokens = tokenSourceFor(target, selection, {
    async authProviderToken() {
      const { currentAuthProviderToken } = await import('../usecases/auth-provider-renewal.js');
      return currentAuthProviderToken({ ...selection, clusterName: target.clusterName });
    },
  });
  const connection = {
    server: target.connection.server,
    caPem: target.caPem,
    insecureSkipTlsVerify: target.connection.insecureSkipTlsVerify === true,
    tlsServerName: target.connection.tlsServerName,
    clientCertificate: target.credentials?.kind === 'client-certificate' ? { certPem: target.credentials.certPem, keyPem: target.credentials.keyPem } : undefined,
  };
  if (connection.insecureSkipTlsVerify) {
    const { warn } = await import('../ui/log.js');
    warn(`the cluster of context '${target.contextName}' sets insecure-skip-tls-verify: the API server's certificate is not checked`);
  }
  return { target, tokens, connection };
}

async function serveUntilStopped(running: { listen: string; stop(timeoutMs: number): Promise<{ cut: number }> }, closeAudit: () => Promise<void>): Promise<void> {
  process.stdout.write(`Starting to serve on ${running.listen}\n`);
  const { info } = await import('../ui/log.js');
  // cli.ts exits at once on SIGINT (nothing to finish there); a server finishes its requests first
  process.removeAllListeners('SIGINT');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      info(`${signal}: no new connections; letting requests in flight finish (up to ${SHUTDOWN_TIMEOUT_MS / 1000} s)`);
      void running.stop(SHUTDOWN_TIMEOUT_MS).then(async ({ cut }) => {
        if (cut > 0) info(`cut ${cut} request(s) still running after ${SHUTDOWN_TIMEOUT_MS / 1000} s`);
        await closeAudit();
        resolve();
      });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
}

/** Starts the server with what both modes share (where to listen, upstream, read-only, audit, a 401 from upstream renewing the token), serves until SIGINT/SIGTERM. */
async function serveProxy(listen: Listening, upstream: UpstreamConnection, tokens: TokenSource, mode: Pick<ProxyServerOptions, 'loopbackBrowserGuard' | 'stripImpersonation' | 'knownIdentity' | 'authenticate'>): Promise<void> {
  const { startProxyServer } = await import('../adapters/proxy-server.js');
  const running = await startProxyServer({
    upstream,
    address: listen.address,
    port: listen.port,
    tls: listen.tls,
    readOnly: listen.readOnly,
    audit: listen.audit,
    upstreamRejected: (token) => tokens.rejected(token),
    ...mode,
  });
  await serveUntilStopped(running, listen.closeAudit);
}

async function runLocal(positional: string | undefined, flags: LocalFlags): Promise<void> {
  const listen = await listening(flags, false);
  const { isLoopbackAddress } = await import('../core/proxy-request.js');
  const { resolveCommandTarget } = await import('../config/cluster-target-options.js');
  const chosen = await resolveCommandTarget({ positional, context: flags.context, kubeconfig: flags.kubeconfig, needsContext: true });
  const { target, tokens, connection } = await upstreamFor(flags.kubeconfig, chosen.context ?? chosen.cluster);
  const first = await tokens.current();
  const { probeUpstream } = await import('../adapters/proxy-upstream.js');
  const identity = await probeUpstream(connection, first, target.contextName);
  const { info } = await import('../ui/log.js');
  info(`forwarding to ${connection.server} (context ${target.contextName}) as ${identity?.user ?? 'the kubeconfig user'}${listen.readOnly ? ', read-only' : ''}`);
  const { describeError } = await import('../errors.js');
  await serveProxy(listen, connection, tokens, {
    // plain HTTP on loopback: web pages must not borrow your credential (serve mode has none to borrow)
    loopbackBrowserGuard: isLoopbackAddress(listen.address),
    // the user's own proxy: what their credential may impersonate, kubectl --as may ask for
    stripImpersonation: false,
    ...(identity ? { knownIdentity: identity } : {}),
    async authenticate() {
      try {
        const token = await tokens.current();
        const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
        return { ok: true, identity, token, headers };
      } catch (error) {
        return { ok: false, status: 401, message: `k8s-auth proxy has no valid credential for context '${target.contextName}': ${describeError(error)}` };
      }
    },
  });
}

async function runServe(flags: ServeFlags): Promise<void> {
  const listen = await listening(flags, true);
  const issuerCas = await Promise.all((flags.issuerCa ?? []).map((file) => readPem(file, '--issuer-ca')));
  const timeoutMs = httpTimeoutMs(flags.httpTimeout);
  let issuer: URL;
  try {
    issuer = new URL(flags.issuer);
  } catch {
    throw new CliError(ExitCode.USAGE, `--issuer must be a URL (https://…), not '${flags.issuer}'`);
  }
  const { isLoopbackHost } = await import('../core/cluster-entry.js');
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname))) throw new CliError(ExitCode.USAGE, `--issuer must be https:// (plain http:// only for a provider on this machine), not '${flags.issuer}'`);
  const { target, tokens, connection } = await upstreamFor(flags.upstreamKubeconfig, flags.upstreamContext);
  const { createIdTokenGate } = await import('../adapters/proxy-id-tokens.js');
  const gate = createIdTokenGate({
    issuerUrl: flags.issuer,
    clientId: flags.clientId,
    caPems: issuerCas,
    mapping: { usernameClaim: flags.usernameClaim, usernamePrefix: flags.usernamePrefix, groupsClaim: flags.groupsClaim, groupsPrefix: flags.groupsPrefix },
    timeoutMs,
  });
  await gate.warmUp();
  const first = await tokens.current();
  const { probeUpstream } = await import('../adapters/proxy-upstream.js');
  const upstreamIdentity = await probeUpstream(connection, first, target.contextName);
  const { info } = await import('../ui/log.js');
  info(`verifying ID tokens of ${flags.issuer} for ${flags.clientId}; forwarding to ${connection.server} as ${upstreamIdentity?.user ?? 'the upstream user'}, impersonating each caller${listen.readOnly ? ', read-only' : ''}`);
  const { impersonationHeaders } = await import('../core/proxy-request.js');
  const { describeError } = await import('../errors.js');
  await serveProxy(listen, connection, tokens, {
    loopbackBrowserGuard: false,
    stripImpersonation: true,
    async authenticate(req) {
      const verdict = await gate.check(req.headers.authorization);
      if (!verdict.ok) return { ok: false, status: 401, message: verdict.message };
      let token: string | undefined;
      try {
        token = await tokens.current();
      } catch (error) {
        return { ok: false, status: 503, message: `k8s-auth proxy serve has no valid upstream credential: ${describeError(error)}` };
      }
      return {
        ok: true,
        identity: verdict.identity,
        token,
        headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...impersonationHeaders(verdict.identity) },
      };
    },
  });
}
