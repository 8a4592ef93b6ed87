// fetch over node:http(s) (adapters/node-fetch.ts), which replaced undici for calls without a
// proxy (issue 16): what openid-client, jose and doctor rely on from fetch, against a local server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch, nodeFetchCan } from '../../src/adapters/node-fetch.js';

let server: Server;
let base: string;
const seen: Array<{ method: string; url: string; type: string | undefined; body: string }> = [];
const seenHeaders: Array<Record<string, string | string[] | undefined>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'], body });
      seenHeaders.push(req.headers);
      if (req.url === '/repeated') return void res.writeHead(200, [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Mixed-Case', 'v']]).end();
      if (req.url === '/see-other') return void res.writeHead(303, { location: '/done' }).end();
      if (req.url === '/moved') return void res.writeHead(307, { location: '/done' }).end();
      if (req.url === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000));
      res.writeHead(200, { 'content-type': 'application/json', 'x-two': 'a' });
      res.end(JSON.stringify({ path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const options = (maxBodyBytes = 1024) => ({ tls: { rejectUnauthorized: true }, signal: new AbortController().signal, maxBodyBytes, tooLarge: () => new Error('too large') });

describe('nodeFetch', () => {
  it('sends a form body with fetch’s content type and answers status, headers and body', async () => {
    seen.length = 0;
    const answer = await nodeFetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'x', code: 'c' }) }, options());
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-two')).toBe('a');
    expect(JSON.parse(Buffer.from(answer.body).toString())).toEqual({ path: '/token' });
    expect(seen[0]).toEqual({ method: 'POST', url: '/token', type: 'application/x-www-form-urlencoded;charset=UTF-8', body: 'grant_type=x&code=c' });
  });

  it('follows redirects as fetch does (303 turns a POST into a GET), and not with redirect: manual', async () => {
    seen.length = 0;
    const followed = await nodeFetch(`${base}/see-other`, { method: 'POST', body: 'a=b' }, options());
    expect(followed.url).toBe(`${base}/done`);
    expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /see-other a=b', 'GET /done ']);
    const kept = await nodeFetch(`${base}/moved`, { redirect: 'manual' }, options());
    expect(kept.status).toBe(307);
    expect(kept.headers.get('location')).toBe('/done');
  });

  it('takes request headers in each form fetch does (object, pairs, Headers), names lower-cased, and joins repeated answer headers as Headers.get does', async () => {
    for (const given of [{ Accept: 'application/json', 'X-Hint': 'one' }, [['Accept', 'application/json'], ['X-Hint', 'one']] as [string, string][], new Headers({ Accept: 'application/json', 'X-Hint': 'one' })]) {
      seenHeaders.length = 0;
      await nodeFetch(`${base}/h`, { headers: given }, options());
      expect(seenHeaders[0]).toMatchObject({ accept: 'application/json', 'x-hint': 'one' });
    }
    const answer = await nodeFetch(`${base}/repeated`, undefined, options());
    expect(answer.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(answer.headers.get('x-mixed-case')).toBe('v');
    expect(answer.headers.get('X-Mixed-Case')).toBeUndefined();
  });

  it('fails past the size cap, with the caller’s error', async () => {
    await expect(nodeFetch(`${base}/big`, undefined, options(100))).rejects.toThrow('too large');
  });

  it('fails like fetch on a refused connection: a TypeError whose cause has the code', async () => {
    const error = await nodeFetch('http://127.0.0.1:9/', undefined, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(((error as TypeError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('leaves bodies it does not handle to undici', () => {
    expect(nodeFetchCan({ body: 'x' })).toBe(true);
    expect(nodeFetchCan({ body: new Blob(['x']) })).toBe(false);
  });
});
