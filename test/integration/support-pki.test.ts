import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createCa, issueCert, removeCa, type CertificateAuthority } from '../support/pki.js';

describe('support: throwaway PKI', () => {
  const cas: CertificateAuthority[] = [];
  afterAll(async () => {
    await Promise.all(cas.map((ca) => removeCa(ca)));
  });

  it('issues server and client certs chained to the CA with the asked SANs and O=', async () => {
    const ca = await createCa('support test CA');
    cas.push(ca);
    const [server, client] = await Promise.all([
      issueCert(ca, { commonName: 'localhost', sans: ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'], kind: 'server' }),
      issueCert(ca, { commonName: 'jane', kind: 'client', organization: ['developers', 'ops'] }),
    ]);
    const caCert = new X509Certificate(ca.certPem);
    expect(caCert.ca).toBe(true);
    const serverCert = new X509Certificate(server.certPem);
    expect(serverCert.checkIssued(caCert)).toBe(true);
    expect(serverCert.verify(caCert.publicKey)).toBe(true);
    expect(serverCert.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(serverCert.subjectAltName).toContain('DNS:localhost');
    expect(serverCert.checkIP('::1')).toBe('::1');
    const clientCert = new X509Certificate(client.certPem);
    expect(clientCert.checkIssued(caCert)).toBe(true);
    expect(clientCert.subject).toContain('O=developers');
    expect(clientCert.subject).toContain('CN=jane');
    expect(clientCert.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
  });

  it('serves TLS that a client trusting only the CA accepts, and a wrong CA rejects', async () => {
    const ca = await createCa('tls CA');
    const other = await createCa('other CA');
    cas.push(ca, other);
    const cert = await issueCert(ca, { commonName: 'localhost', sans: ['IP:127.0.0.1', 'DNS:localhost'], kind: 'server' });
    const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const get = (caPem: string) =>
      new Promise<string>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', ca: caPem }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect(await get(ca.certPem)).toBe('ok');
      await expect(get(other.certPem)).rejects.toThrow(/certificate/i);
    } finally {
      server.close();
    }
  });
});
