// Sets up an ordinary user (jane) for benchmarks of the default `k8s-auth token` path: the admin
// runs `k8s-auth rbac apply` once with her ID token (her ServiceAccount, and the self-service
// Role/RoleBinding that lets her mint for it); then jane signs in with the real CLI (password
// grant against the test provider, K8S_AUTH_PASSWORD), once each way `k8s-auth login` leaves a
// kubeconfig behind:
//  - oidc: `k8s-auth login prod`: an `auth-provider: oidc` user holding her ID token;
//  - exec: `k8s-auth login prod --exec`: an exec-plugin user running `k8s-auth credential prod
//    --issuer … --client-id … --scopes … --token-cache-dir …`, her tokens in that token cache.
// So the kubeconfigs and the cache file are byte for byte what the product writes.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';

export const JANE = { email: 'jane@example.com', password: 'jane-password', groups: ['developers'], serviceAccount: 'jane-example-com', namespace: 'default' };
const CLUSTER = 'prod';
const MAPPING = 'serviceAccountNamespace: default\ngroups:\n  developers:\n    clusterRole: view\n    namespaces: [default]\n';

function run(cli, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`k8s-auth ${args[0]} ${args[1] ?? ''} exited ${code}: ${err.trim().split('\n').pop()}`));
      else resolve(out);
    });
  });
}

/** A token's claims, read without verifying. */
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));

/**
 * @param {{ root: string, dir: string, fx: import('../../test/cluster/fixture.ts').ClusterFixture, baseEnv: NodeJS.ProcessEnv }} o
 * @returns {Promise<{ oidcKubeconfig: string, execKubeconfig: string, cacheFile: string, idTokenExpiresAt: string }>}
 */
export async function setUpSelfServiceUser({ root, dir, fx, baseEnv }) {
  const cli = join(root, 'bin', 'k8s-auth.js');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    idToken: join(dir, 'jane.id-token'),
    idpCa: join(dir, 'idp-ca.pem'),
    mapping: join(dir, 'mapping.yaml'),
    catalog: join(dir, 'clusters.yaml'),
    oidcKubeconfig: join(dir, 'jane-oidc.kubeconfig'),
    execKubeconfig: join(dir, 'jane-exec.kubeconfig'),
    cacheDir: join(dir, 'token-cache'),
  };
  writeFileSync(files.idToken, await fx.provider.mintIdToken({ email: JANE.email, groups: JANE.groups, expiresInSeconds: 600 }), { mode: 0o600 });
  writeFileSync(files.idpCa, fx.provider.caPem);
  writeFileSync(files.mapping, MAPPING);

  // the admin grants jane her ServiceAccount and the right to mint for it
  const adminEnv = { ...baseEnv, HOME: join(dir, 'admin'), KUBECONFIG: fx.cp.adminKubeconfig };
  const applied = JSON.parse(
    await run(cli, ['rbac', 'apply', '--id-token', files.idToken, '--issuer-url', fx.provider.issuer, '--client-id', fx.provider.clientId, '--idp-ca-file', files.idpCa, '--mapping', files.mapping, '-o', 'json'], adminEnv),
  );
  if (applied.selfServiceTokens?.user !== JANE.email) throw new Error(`rbac apply bound the self-service Role to '${applied.selfServiceTokens?.user}', not ${JANE.email}`);

  // jane signs in, both ways; the catalog entry is what an admin publishes
  const entry = {
    server: fx.cp.server,
    'certificate-authority-data': fx.cp.caData,
    'issuer-url': fx.provider.issuer,
    'client-id': fx.provider.clientId,
    'idp-certificate-authority-data': Buffer.from(fx.provider.caPem).toString('base64'),
  };
  writeFileSync(files.catalog, stringify({ clusters: { [CLUSTER]: entry } }));
  const janeEnv = { ...baseEnv, HOME: join(dir, 'home'), K8S_AUTH_PASSWORD: JANE.password };
  const login = ['login', CLUSTER, '--catalog', files.catalog, '--grant', 'password', '--username', JANE.email];
  await run(cli, [...login, '--kubeconfig', files.oidcKubeconfig], janeEnv);
  await run(cli, [...login, '--kubeconfig', files.execKubeconfig, '--exec', '--exec-command', cli, '--token-cache-dir', files.cacheDir], janeEnv);

  const cached = readdirSync(files.cacheDir).filter((f) => f.endsWith('.json'));
  if (cached.length !== 1) throw new Error(`login --exec left ${cached.length} token cache files in ${files.cacheDir}`);
  const cacheFile = join(files.cacheDir, cached[0]);
  const { idToken, expiresAt } = JSON.parse(readFileSync(cacheFile, 'utf8'));
  if (claimsOf(idToken).email !== JANE.email) throw new Error(`the cached ID token is not jane's`);
  return { oidcKubeconfig: files.oidcKubeconfig, execKubeconfig: files.execKubeconfig, cacheFile, idTokenExpiresAt: expiresAt };
}
