// A current Kubernetes control plane (kube-apiserver, kube-controller-manager and kubectl of the
// release ./go.mod pins, built by ./install.sh from the Go module proxy) run with structured
// authentication: `--authentication-config FILE`, an AuthenticationConfiguration
// (apiserver.config.k8s.io/v1, GA in 1.34) with one JWT authenticator per issuer.
//
// API
//   kubernetesVersion: string          the pinned release ('v1.37.2', from ./go.mod)
//   currentKubernetesBinDir            ${K8S_AUTH_TEST_CACHE:-~/.cache/k8s-auth-test}/kubernetes-<ver>/bin
//   currentKubectl: string             the kubectl built there
//   currentEtcd(): string              K8S_AUTH_TEST_ETCD, else Debian's /usr/bin/etcd (3.4: the
//                                      current apiserver runs on it, see install.sh)
//   currentKubernetesAvailable(): boolean   kube-apiserver and kubectl are built and etcd is
//                                      installed (kube-controller-manager runs when it is built too)
//   authenticationConfiguration(issuers) → the AuthenticationConfiguration document (plain data)
//   startCurrentApiServer({ authenticationConfig: issuers, extraApiserverArgs? }) → CurrentApiServer
//     the test/cluster control plane (PKI, etcd, service-account keys, admin kubeconfig, exit
//     hook and watchdog) with these binaries; plus authenticationConfigFile and stop()
//   waitForJwtAuthenticator(cp, idToken)   until the server authenticates a known-good token
//                                      (the authenticator starts after discovery and JWKS)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startControlPlane, waitForOidcAuthenticator, type ControlPlane } from '../../cluster/control-plane.js';
import { isExecutable, peerCacheDir } from '../process.js';

const here = dirname(fileURLToPath(import.meta.url));

function pinnedVersion(): string {
  const m = /^require k8s\.io\/kubernetes (v\d+\.\d+\.\d+)\b/m.exec(readFileSync(join(here, 'go.mod'), 'utf8'));
  if (!m?.[1]) throw new Error('test/peers/kubernetes/go.mod requires no k8s.io/kubernetes vX.Y.Z');
  return m[1];
}

export const kubernetesVersion = pinnedVersion();
export const currentKubernetesBinDir = peerCacheDir(`kubernetes-${kubernetesVersion}`, 'bin');
export const currentKubectl = join(currentKubernetesBinDir, 'kubectl');
const apiserver = join(currentKubernetesBinDir, 'kube-apiserver');
const controllerManager = join(currentKubernetesBinDir, 'kube-controller-manager');

export function currentEtcd(): string {
  return process.env['K8S_AUTH_TEST_ETCD'] ?? '/usr/bin/etcd';
}

export function currentKubernetesAvailable(): boolean {
  return [apiserver, currentKubectl, currentEtcd()].every(isExecutable);
}

export function currentKubernetesMissing(): string {
  return `kube-apiserver/kubectl ${kubernetesVersion} not built in ${currentKubernetesBinDir} (or no etcd at ${currentEtcd()}): run test/peers/kubernetes/install.sh`;
}

/** One JWT authenticator: an issuer the API server trusts and how its claims become a user. */
export interface JwtIssuer {
  url: string;
  /** PEM of the CA that signed the issuer's HTTPS certificate (inline, as the API wants it). */
  caPem: string;
  audiences: string[];
  /** e.g. { claim: 'email', prefix: 'dex:' } or { expression: '"kc:" + claims.preferred_username' } */
  username: { claim: string; prefix: string } | { expression: string };
  groups?: { claim: string; prefix: string } | { expression: string };
  claimValidationRules?: ({ expression: string; message?: string } | { claim: string; requiredValue: string })[];
  userValidationRules?: { expression: string; message?: string }[];
}

export function authenticationConfiguration(issuers: readonly JwtIssuer[]): Record<string, unknown> {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthenticationConfiguration',
    jwt: issuers.map((i) => ({
      issuer: {
        url: i.url,
        certificateAuthority: i.caPem,
        audiences: i.audiences,
        ...(i.audiences.length > 1 ? { audienceMatchPolicy: 'MatchAny' } : {}),
      },
      claimMappings: { username: i.username, ...(i.groups ? { groups: i.groups } : {}) },
      ...(i.claimValidationRules ? { claimValidationRules: i.claimValidationRules } : {}),
      ...(i.userValidationRules ? { userValidationRules: i.userValidationRules } : {}),
    })),
  };
}

export interface CurrentApiServer extends ControlPlane {
  version: string;
  /** the AuthenticationConfiguration file kube-apiserver runs with (inside dir) */
  authenticationConfigFile: string;
  /** kube-apiserver's log (inside dir; gone after stop) */
  apiserverLog: string;
}

export async function startCurrentApiServer(opts: { authenticationConfig: readonly JwtIssuer[]; extraApiserverArgs?: string[] }): Promise<CurrentApiServer> {
  if (!currentKubernetesAvailable()) throw new Error(currentKubernetesMissing());
  let authenticationConfigFile = '';
  const cp = await startControlPlane({
    // kube-controller-manager when built (install.sh builds it last): ServiceAccount tokens'
    // controllers and the aggregated ClusterRoles; TokenRequest and RBAC work without it
    binaries: { apiserver, ...(isExecutable(controllerManager) ? { controllerManager } : {}), etcd: currentEtcd(), generation: 'current' },
    apiserverArgs: (dir) => {
      authenticationConfigFile = join(dir, 'authentication-config.yaml');
      writeFileSync(authenticationConfigFile, stringify(authenticationConfiguration(opts.authenticationConfig)), { mode: 0o600 });
      return [`--authentication-config=${authenticationConfigFile}`, ...(opts.extraApiserverArgs ?? [])];
    },
  });
  return { ...cp, version: kubernetesVersion, authenticationConfigFile, apiserverLog: join(cp.dir, 'logs', 'kube-apiserver.log') };
}

/** Until the API server authenticates `idToken` (its JWT authenticators start after discovery). */
export function waitForJwtAuthenticator(cp: Pick<ControlPlane, 'server' | 'caPem'>, idToken: string, timeoutMs = 60_000): Promise<number> {
  return waitForOidcAuthenticator(cp, idToken, timeoutMs);
}
