// Throwaway PKI for tests, built with the openssl CLI (EC P-256 keys: fast to generate).
// Every CA lives in its own temp directory; issued certs are written next to it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** temp directory holding the CA and every cert it issued; remove with removeCa() */
  dir: string;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  commonName: string;
  /** openssl subjectAltName entries, e.g. 'IP:127.0.0.1', 'IP:::1', 'DNS:localhost' */
  sans?: string[];
  kind: 'server' | 'client';
  /** becomes the subject O= (Kubernetes reads it as the group of a client cert) */
  organization?: string | string[];
  days?: number;
}

let serial = 0;

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'cert';
}

/** Escapes a value for an openssl -subj string (/ and \ and = are special). */
function subjValue(value: string): string {
  return value.replace(/[\\/=+]/g, (c) => `\\${c}`);
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

async function newKey(keyFile: string, cwd: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyFile], cwd);
}

export async function createCa(name: string, opts: { days?: number } = {}): Promise<CertificateAuthority> {
  const dir = await mkdtemp(join(tmpdir(), `k8s-auth-pki-${safeName(name)}-`));
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  await newKey(keyFile, dir);
  await openssl(
    [
      'req', '-x509', '-new', '-key', keyFile, '-sha256', '-days', String(opts.days ?? 30),
      '-subj', `/CN=${subjValue(name)}`,
      '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', 'subjectKeyIdentifier=hash',
      '-out', certFile,
    ],
    dir,
  );
  return { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8'), certFile, keyFile, dir };
}

export async function issueCert(ca: CertificateAuthority, opts: IssueOptions): Promise<IssuedCert> {
  serial += 1;
  const base = `${safeName(opts.commonName)}-${opts.kind}-${process.pid}-${serial}`;
  const keyFile = join(ca.dir, `${base}.key`);
  const csrFile = join(ca.dir, `${base}.csr`);
  const certFile = join(ca.dir, `${base}.crt`);
  const extFile = join(ca.dir, `${base}.ext`);
  const orgs = opts.organization === undefined ? [] : Array.isArray(opts.organization) ? opts.organization : [opts.organization];
  const subj = `${orgs.map((o) => `/O=${subjValue(o)}`).join('')}/CN=${subjValue(opts.commonName)}`;
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${opts.kind === 'server' ? 'serverAuth' : 'clientAuth'}`,
    'authorityKeyIdentifier=keyid',
  ];
  if (opts.sans && opts.sans.length > 0) ext.push(`subjectAltName=${opts.sans.join(',')}`);
  await writeFile(extFile, `${ext.join('\n')}\n`);
  await newKey(keyFile, ca.dir);
  await openssl(['req', '-new', '-key', keyFile, '-subj', subj, '-out', csrFile], ca.dir);
  await openssl(
    [
      'x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile,
      // random serial: no shared serial file, so parallel issues from one CA do not race
      '-set_serial', `0x${randomBytes(12).toString('hex')}`,
      '-days', String(opts.days ?? 30), '-sha256', '-extfile', extFile, '-out', certFile,
    ],
    ca.dir,
  );
  return { certPem: await readFile(certFile, 'utf8'), keyPem: await readFile(keyFile, 'utf8'), certFile, keyFile };
}

/** Removes the CA's temp directory (and every cert issued from it). */
export async function removeCa(ca: CertificateAuthority): Promise<void> {
  await rm(ca.dir, { recursive: true, force: true });
}
