// Peers and files for `k8s-auth doctor` tests: the test provider, the Kubernetes API double with a
// user for a freshly minted ID token, a catalog entry for both, a kubeconfig as `login` writes
// it, and a runner for the built CLI that parses its -o json report.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { type KubeApiDouble, startKubeApiDouble } from './kube-api-double.js';
import { startTestProvider, type TestProvider } from './oidc-provider.js';
import { cleanEnv, runCli } from './run-cli.js';

export interface DoctorCheck {
  id: string;
  verdict: 'pass' | 'warn' | 'fail' | 'skip';
  detail: string;
  fix: string | null;
}

export interface DoctorReportData {
  cluster: string | null;
  ok: boolean;
  summary: Record<string, number>;
  checks: DoctorCheck[];
}

export interface DoctorRun {
  code: number | null;
  report: DoctorReportData;
  stderr: string;
}

export const b64 = (text: string): string => Buffer.from(text).toString('base64');

export interface DoctorPeers {
  provider: TestProvider;
  api: KubeApiDouble;
  /** An ID token for jane@example.com that the API double accepts. */
  idToken: string;
  close(): Promise<void>;
}

export async function startDoctorPeers(): Promise<DoctorPeers> {
  const provider = await startTestProvider();
  const api = await startKubeApiDouble();
  const idToken = await provider.mintIdToken({ email: 'jane@example.com', groups: ['developers'], expiresInSeconds: 3600 });
  api.addUser(idToken, 'jane@example.com');
  return { provider, api, idToken, close: async () => void (await Promise.all([provider.close(), api.close()])) };
}

export type Fields = Record<string, string>;

/** The catalog entry of cluster `prod` for these peers, with fields replaced or dropped. */
export function catalogEntry(peers: DoctorPeers, patch: Fields = {}, drop: readonly string[] = []): Fields {
  const entry: Fields = {
    server: peers.api.url,
    'certificate-authority-data': b64(peers.api.ca.certPem),
    'issuer-url': peers.provider.issuer,
    'client-id': peers.provider.clientId,
    'idp-certificate-authority-data': b64(peers.provider.caPem),
    ...patch,
  };
  for (const field of drop) delete entry[field];
  return entry;
}

export class DoctorWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'k8s-auth-doctor-'));

  constructor(private readonly peers: DoctorPeers) {}

  get catalogPath(): string {
    return join(this.dir, 'clusters.yaml');
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'kubeconfig');
  }

  writeCatalog(entry: Fields): string {
    writeFileSync(this.catalogPath, stringify({ clusters: { prod: entry } }));
    return this.catalogPath;
  }

  /** A kubeconfig as `k8s-auth login` writes it (auth-provider oidc), mode 0600. */
  writeKubeconfig(opts: { server?: string; caPem?: string; token?: string; refreshToken?: string | null } = {}): string {
    const { provider, api, idToken } = this.peers;
    const config: Record<string, string> = {
      'idp-issuer-url': provider.issuer,
      'client-id': provider.clientId,
      'idp-certificate-authority-data': b64(provider.caPem),
      'id-token': opts.token ?? idToken,
    };
    if (opts.refreshToken !== null) config['refresh-token'] = opts.refreshToken ?? 'a-refresh-token-for-doctor';
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'prod', cluster: { server: opts.server ?? api.url, 'certificate-authority-data': b64(opts.caPem ?? api.ca.certPem) } }],
      users: [{ name: 'jane@example.com@prod', user: { 'auth-provider': { name: 'oidc', config } } }],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'jane@example.com@prod' } }],
      'current-context': 'prod',
    };
    writeFileSync(this.kubeconfigPath, stringify(doc), { mode: 0o600 });
    return this.kubeconfigPath;
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    return cleanEnv({ HOME: this.dir, KUBECACHEDIR: join(this.dir, 'cache'), NO_COLOR: '1', ...extra });
  }

  /** `doctor [prod] --kubeconfig … -o json` (plus `--catalog` unless `vault` is set) and its parsed report. */
  async doctor(extraArgs: readonly string[] = [], options: { cluster?: string | null; env?: Record<string, string | undefined>; catalogFile?: boolean } = {}): Promise<DoctorRun> {
    const cluster = options.cluster === undefined ? 'prod' : options.cluster;
    const args = ['doctor', ...(cluster ? [cluster] : []), ...(options.catalogFile === false ? [] : ['--catalog', this.catalogPath]), '--kubeconfig', this.kubeconfigPath, '-o', 'json', ...extraArgs];
    const run = await runCli(args, this.env(options.env));
    let report: DoctorReportData;
    try {
      report = JSON.parse(run.stdout) as DoctorReportData;
    } catch {
      throw new Error(`doctor printed no JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
    }
    return { code: run.code, report, stderr: run.stderr };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const verdicts = (r: DoctorReportData): Record<string, string> => Object.fromEntries(r.checks.map((c) => [c.id, c.verdict]));
export const checkOf = (r: DoctorReportData, id: string): DoctorCheck => r.checks.find((c) => c.id === id) as DoctorCheck;
export const failing = (r: DoctorReportData): string[] => r.checks.filter((c) => c.verdict === 'fail').map((c) => c.id);
