// Sets up an ordinary user (jane) for benchmarks of the default `k8s-auth token` path: the admin
// runs `k8s-auth rbac apply` once with her ID token (her ServiceAccount, and the self-service
// Role/RoleBinding that lets her mint for it), then two kubeconfigs that sign in as her the two
// ways `k8s-auth login` leaves behind:
//  - oidc: an `auth-provider: oidc` user holding her ID token (plain `k8s-auth login prod`);
//  - exec: an exec-plugin user running `k8s-auth credential prod --issuer … --client-id …
//    --scopes … --token-cache-dir …` (`login --exec`), with her ID token in that token cache.
// The kubeconfig user, the credential arguments and the cache file are made by the CLI's own
// code from dist/ (what `login --exec` writes), so the layout cannot drift from the product.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const JANE = { email: 'jane@example.com', groups: ['developers'], serviceAccount: 'jane-example-com', namespace: 'default' };
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

function kubeconfigFor(cp, user) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': CLUSTER,
    clusters: [{ name: CLUSTER, cluster: { server: cp.server, 'certificate-authority-data': cp.caData } }],
    users: [{ name: `${JANE.email}@${CLUSTER}`, user }],
    contexts: [{ name: CLUSTER, context: { cluster: CLUSTER, user: `${JANE.email}@${CLUSTER}` } }],
  });
}

/**
 * @param {{ root: string, dir: string, fx: import('../../test/cluster/fixture.ts').ClusterFixture, baseEnv: NodeJS.ProcessEnv, idTokenSeconds?: number }} o
 * @returns {Promise<{ oidcKubeconfig: string, execKubeconfig: string, cacheFile: string, idTokenExpiresAt: string }>}
 */
export async function setUpSelfServiceUser({ root, dir, fx, baseEnv, idTokenSeconds = 1800 }) {
  const cli = join(root, 'bin', 'k8s-auth.js');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dist = (path) => import(pathToFileURL(join(root, 'dist', path)).href);
  const { buildCredentialArgs, buildExecUser, EXEC_API_V1 } = await dist('core/exec-credential.js');
  const { BASE_SCOPES } = await dist('core/cluster-entry.js');
  const { normalizeCacheKey } = await dist('core/token-cache-key.js');
  const { openTokenCache, writeCachedTokens } = await dist('adapters/token-cache.js');

  const idToken = await fx.provider.mintIdToken({ email: JANE.email, groups: JANE.groups, expiresInSeconds: idTokenSeconds });
  const expiresAt = new Date(JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString('utf8')).exp * 1000).toISOString();
  const files = { idToken: join(dir, 'jane.id-token'), idpCa: join(dir, 'idp-ca.pem'), mapping: join(dir, 'mapping.yaml') };
  writeFileSync(files.idToken, idToken, { mode: 0o600 });
  writeFileSync(files.idpCa, fx.provider.caPem);
  writeFileSync(files.mapping, MAPPING);

  // the admin grants jane her ServiceAccount and the right to mint for it
  const adminEnv = { ...baseEnv, HOME: join(dir, 'admin'), KUBECONFIG: fx.cp.adminKubeconfig };
  const applied = JSON.parse(
    await run(cli, ['rbac', 'apply', '--id-token', files.idToken, '--issuer-url', fx.provider.issuer, '--client-id', fx.provider.clientId, '--idp-ca-file', files.idpCa, '--mapping', files.mapping, '-o', 'json'], adminEnv),
  );
  if (applied.selfServiceTokens?.user !== JANE.email) throw new Error(`rbac apply bound the self-service Role to '${applied.selfServiceTokens?.user}', not ${JANE.email}`);

  // (b) `k8s-auth login prod`: the auth-provider user holding her ID token
  const oidcKubeconfig = join(dir, 'jane-oidc.kubeconfig');
  const authProvider = {
    'auth-provider': {
      name: 'oidc',
      config: {
        'idp-issuer-url': fx.provider.issuer,
        'client-id': fx.provider.clientId,
        'idp-certificate-authority-data': Buffer.from(fx.provider.caPem).toString('base64'),
        'id-token': idToken,
      },
    },
  };
  writeFileSync(oidcKubeconfig, kubeconfigFor(fx.cp, authProvider), { mode: 0o600 });

  // (c) `k8s-auth login prod --exec --exec-command <bin> --token-cache-dir <dir>`: exec user + token cache
  const cacheDir = join(dir, 'token-cache');
  mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const key = normalizeCacheKey({ issuer: fx.provider.issuer, clientId: fx.provider.clientId, scopes: [...BASE_SCOPES] });
  const cache = openTokenCache(key, cacheDir);
  writeCachedTokens(cache, { key, idToken, user: JANE.email, expiresAt, updatedAt: new Date().toISOString() });
  const args = buildCredentialArgs({ cluster: CLUSTER, issuer: key.issuer, clientId: key.clientId, scopes: key.scopes, cacheDir });
  const execKubeconfig = join(dir, 'jane-exec.kubeconfig');
  writeFileSync(execKubeconfig, kubeconfigFor(fx.cp, buildExecUser({ apiVersion: EXEC_API_V1, command: cli, args })), { mode: 0o600 });

  return { oidcKubeconfig, execKubeconfig, cacheFile: cache.file, idTokenExpiresAt: expiresAt };
}
