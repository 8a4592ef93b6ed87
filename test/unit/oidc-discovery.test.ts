// Discovery without openid-client (adapters/oidc-discovery.ts): the checks openid-client makes
// (HTTP 200, a JSON object, the issuer asked for), each refusal one line naming the step.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverProviderMetadata } from '../../src/adapters/oidc-discovery.js';

let server: Server;
let base = '';
let answer: { status: number; body: string } = { status: 200, body: '{}' };
const paths: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const discover = (issuerUrl: string) => discoverProviderMetadata({ issuerUrl, clientId: 'kube', timeoutMs: 2000 });

describe('discoverProviderMetadata', () => {
  it('fetches <issuer>/.well-known/openid-configuration and returns its metadata; http only on this machine', async () => {
    answer = { status: 200, body: JSON.stringify({ issuer: `${base}/dex`, authorization_endpoint: `${base}/dex/auth` }) };
    paths.length = 0;
    const provider = await discover(`${base}/dex`);
    expect(paths).toEqual(['/dex/.well-known/openid-configuration']);
    expect(provider.metadata.authorization_endpoint).toBe(`${base}/dex/auth`);
    expect(provider.allowHttp).toBe(true);
    await expect(discover('http://idp.example/dex')).rejects.toThrow('discovery at http://idp.example/dex needs https');
  });

  it('refuses another issuer, a non-200 answer, a body that is not a JSON object, and one without an issuer', async () => {
    answer = { status: 200, body: JSON.stringify({ issuer: 'https://elsewhere.example' }) };
    await expect(discover(`${base}/dex`)).rejects.toThrow("names itself 'https://elsewhere.example', not");
    answer = { status: 404, body: 'not found' };
    await expect(discover(`${base}/dex`)).rejects.toThrow('answered discovery at');
    answer = { status: 200, body: '<html>' };
    await expect(discover(`${base}/dex`)).rejects.toThrow('not JSON');
    answer = { status: 200, body: '[1]' };
    await expect(discover(`${base}/dex`)).rejects.toThrow('not a JSON object');
    answer = { status: 200, body: '{"jwks_uri": "x"}' };
    await expect(discover(`${base}/dex`)).rejects.toThrow('no issuer');
    await expect(discover('not a url')).rejects.toThrow("issuer URL 'not a url' is not a URL");
  });
});
