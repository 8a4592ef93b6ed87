// A real HTTP forward proxy for the HTTPS_PROXY / NO_PROXY tests: Debian's tinyproxy (installed by
// test/peers/forward-proxy/install.sh), run privately: its own config file and log file in a
// temp dir, listening on 127.0.0.1 on a free port, CONNECT allowed to any port (no ConnectPort
// line), clients from loopback only, stopped by pid. What went through it is read back from
// tinyproxy's own log (LogLevel Connect records every request line it received), so a test can
// prove traffic went through the proxy, or that nothing did.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, isExecutable, startPeerProcess, waitUntilReady, type PeerProcess } from '../process.js';

export const TINYPROXY = '/usr/bin/tinyproxy';
export const FORWARD_PROXY_INSTALL = 'test/peers/forward-proxy/install.sh';
export const FORWARD_PROXY_MISSING = `tinyproxy (${TINYPROXY}) is not installed: run ${FORWARD_PROXY_INSTALL}`;

export function forwardProxyAvailable(): boolean {
  return isExecutable(TINYPROXY);
}

/** One request line tinyproxy received from a client. */
export interface ProxiedRequest {
  /** CONNECT for a tunnel; GET, POST … for an absolute-URI (plain http) request */
  method: string;
  /** host:port of the peer asked for */
  target: string;
}

export interface ForwardProxy {
  /** http://127.0.0.1:PORT, for HTTPS_PROXY / HTTP_PROXY */
  url: string;
  port: number;
  /** tinyproxy's own log file */
  logFile: string;
  configFile: string;
  proc: PeerProcess;
  /** every request line in the log since the last clear(), oldest first */
  requests(): ProxiedRequest[];
  /** the distinct targets of requests(), in first-seen order */
  targets(): string[];
  /** the raw log since the last clear() */
  log(): string;
  /** forget what was logged so far (the log file itself is kept) */
  clear(): void;
  stop(): Promise<void>;
}

const REQUEST_LINE = /Request \(file descriptor \d+\): ([A-Z]+) (\S+) HTTP\/1\.[01]/;

function targetOf(method: string, uri: string): string {
  if (method === 'CONNECT') return uri;
  try {
    const url = new URL(uri);
    return `${url.hostname.replace(/^\[|\]$/g, '')}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return uri;
  }
}

export function parseTinyproxyLog(text: string): ProxiedRequest[] {
  const out: ProxiedRequest[] = [];
  for (const line of text.split('\n')) {
    const match = REQUEST_LINE.exec(line);
    if (match?.[1] && match[2]) out.push({ method: match[1], target: targetOf(match[1], match[2]) });
  }
  return out;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startForwardProxy(): Promise<ForwardProxy> {
  if (!forwardProxyAvailable()) throw new Error(FORWARD_PROXY_MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-tinyproxy-'));
  const port = await freeLoopbackPort();
  const logFile = join(dir, 'tinyproxy.log');
  const configFile = join(dir, 'tinyproxy.conf');
  writeFileSync(
    configFile,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      // idle connections (keep-alive tunnels) are cut after this many seconds
      'Timeout 600',
      `LogFile "${logFile}"`,
      // Connect level: every client connection and request line, no chatter
      'LogLevel Connect',
      `PidFile "${join(dir, 'tinyproxy.pid')}"`,
      'MaxClients 200',
      'Allow 127.0.0.1',
      'Allow ::1',
      'DisableViaHeader Yes',
      // no ConnectPort line: CONNECT is allowed to every port (the peers sit on random ports)
      '',
    ].join('\n'),
  );
  // -d: stay in the foreground, so the pid we hold is tinyproxy's own
  const proc = startPeerProcess('tinyproxy', TINYPROXY, ['-d', '-c', configFile], { logFile: join(dir, 'stderr.log') });
  try {
    await waitUntilReady(proc, () => acceptsConnections(port), 20_000, 100);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  let offset = sizeOf(logFile);
  const since = (): string => (sizeOf(logFile) > 0 ? readFileSync(logFile).subarray(offset).toString('utf8') : '');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    logFile,
    configFile,
    proc,
    requests: () => parseTinyproxyLog(since()),
    targets: () => [...new Set(parseTinyproxyLog(since()).map((r) => r.target))],
    log: since,
    clear: () => {
      offset = sizeOf(logFile);
    },
    stop: async () => {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
