// DNS rebinding against the sign-in callback listener: a page on evil.example whose name is made
// to resolve to 127.0.0.1 reaches the listener with `Host: evil.example:<port>`. The real
// listener (src/adapters/loopback-server.ts, on a real loopback port) must answer 400 to any Host
// but 127.0.0.1, [::1] or localhost with its own port, without the handler ever seeing the
// request; the loopback names with the right port still reach it.
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLoopbackServer, type LoopbackServer } from '../../src/adapters/loopback-server.js';
import { planRedirect } from '../../src/core/oauth-callback.js';

let server: LoopbackServer;
let handled = 0;

/** A raw GET to the listener with exactly this Host header (or none). */
function get(path: string, host: string | undefined): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (host !== undefined) headers['host'] = host;
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET', headers, setHost: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  server = await startLoopbackServer(planRedirect({}), () => {
    handled += 1;
    return { status: 200, html: 'handled\n' };
  });
});

afterAll(() => server?.close());

beforeEach(() => {
  handled = 0;
});

describe('the loopback listener checks Host', () => {
  const foreign = () => [
    'evil.example',
    `evil.example:${server.port}`,
    `127.0.0.1.evil.example:${server.port}`,
    `localhost.evil.example:${server.port}`,
    `127.0.0.1:${server.port + 1}`,
    `localhost:${server.port}0`,
    '127.0.0.1',
    `127.0.0.2:${server.port}`,
    `[::2]:${server.port}`,
    `user@127.0.0.1:${server.port}`,
    '',
  ];

  it('answers 400 to every foreign Host (DNS rebinding), the handler never called', async () => {
    for (const host of foreign()) {
      const answer = await get('/callback?code=c&state=s', host);
      expect(answer.status, `Host: ${host}`).toBe(400);
    }
    expect(handled).toBe(0);
  });

  it('answers 400 to a request without Host', async () => {
    const answer = await get('/callback?code=c&state=s', undefined);
    expect(answer.status).toBe(400);
    expect(handled).toBe(0);
  });

  it('serves 127.0.0.1, [::1] and localhost (any case) with its own port', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `[::1]:${server.port}`, `localhost:${server.port}`, `LocalHost:${server.port}`]) {
      const answer = await get('/callback?code=c&state=s', host);
      expect(answer.status, `Host: ${host}`).toBe(200);
    }
    expect(handled).toBe(4);
  });
});
