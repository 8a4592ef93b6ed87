/**
 * The `ssh -L` line that lets a browser on the user's own machine reach the loopback redirect of a
 * login running on a remote host (`--no-browser` over SSH). Pure: the caller passes the
 * environment and the host name.
 */
export interface SshForward {
  /** the loopback callback port of this login */
  port: number;
  /** e.g. `ssh -L 43117:127.0.0.1:43117 jane@10.0.0.5` */
  command: string;
}

/** The redirect URI's port, from the authorization URL (its redirect_uri parameter). */
export function callbackPort(authorizationUrl: string): { host: string; port: number } | undefined {
  let redirect: URL;
  try {
    const raw = new URL(authorizationUrl).searchParams.get('redirect_uri');
    if (!raw) return undefined;
    redirect = new URL(raw);
  } catch {
    return undefined;
  }
  if (redirect.protocol !== 'http:' || !['127.0.0.1', '[::1]', 'localhost'].includes(redirect.hostname)) return undefined;
  const port = Number(redirect.port);
  return Number.isInteger(port) && port > 0 ? { host: redirect.hostname, port } : undefined;
}

/**
 * `SSH_CONNECTION` ("client-ip client-port server-ip server-port", set by sshd) names this host as
 * the user reached it; outside an SSH session, the host name stands in.
 */
export function sshForward(authorizationUrl: string, env: Record<string, string | undefined>, hostName: string): SshForward | undefined {
  const callback = callbackPort(authorizationUrl);
  if (!callback) return undefined;
  const [, , serverIp, serverPort] = (env['SSH_CONNECTION'] ?? '').trim().split(/\s+/);
  const host = serverIp || hostName;
  const user = env['USER'] ?? env['LOGNAME'];
  const target = user ? `${user}@${host}` : host;
  const portFlag = serverPort && serverPort !== '22' ? ` -p ${serverPort}` : '';
  const bind = callback.host === 'localhost' ? '127.0.0.1' : callback.host;
  return { port: callback.port, command: `ssh -L ${callback.port}:${bind}:${callback.port}${portFlag} ${target}` };
}
