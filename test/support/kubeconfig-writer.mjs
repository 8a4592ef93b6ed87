#!/usr/bin/env node
// A kubeconfig writer process for the reliability tests, going through the real code path of
// `k8s-auth login` (dist/adapters/kubeconfig-file.js updateKubeconfig: <file>.lock, re-read,
// merge, temp file + fsync + rename, 0600) with the login's own setters.
//   node kubeconfig-writer.mjs <kubeconfig> <first-index> <count> [token-bytes] [log-file]
// writes cluster/user/context `w-<i>` for i in first..first+count-1, one update each; the user
// is an `auth-provider: oidc` user with a deterministic ID token of token-bytes characters.
// With a log file, appends "<i> <sha256 of the file after update i>" after every update.
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { updateKubeconfig } = await import(pathToFileURL(join(root, 'dist/adapters/kubeconfig-file.js')).href);
const { oidcAuthProviderUser, setCluster, setContext, setUser } = await import(pathToFileURL(join(root, 'dist/core/kubeconfig-merge.js')).href);

const [path, firstArg, countArg, bytesArg, log] = process.argv.slice(2);
if (!path || firstArg === undefined || countArg === undefined) {
  process.stderr.write('usage: kubeconfig-writer.mjs <kubeconfig> <first-index> <count> [token-bytes] [log-file]\n');
  process.exit(2);
}
const first = Number(firstArg);
const count = Number(countArg);
const bytes = Number(bytesArg ?? 64);

/** deterministic, JWT-looking, `bytes` long: the same index always gives the same token */
function tokenFor(i) {
  const unit = createHash('sha256').update(`token-${i}`).digest('base64url');
  return `eyJ${unit.repeat(Math.ceil(bytes / unit.length)).slice(0, Math.max(0, bytes - 3))}`;
}

for (let i = first; i < first + count; i++) {
  const name = `w-${i}`;
  await updateKubeconfig([path], { cluster: name, user: name, context: name }, (doc) => {
    setCluster(doc, name, { server: `https://127.0.0.1:${10000 + i}` });
    setUser(doc, name, oidcAuthProviderUser({ issuerUrl: 'https://127.0.0.1:5556/dex', clientId: 'k8s-auth', idToken: tokenFor(i), refreshToken: `rt-${i}` }));
    setContext(doc, name, { cluster: name, user: name });
  }, { lockTimeoutMs: 30_000 });
  if (log) appendFileSync(log, `${i} ${createHash('sha256').update(readFileSync(path)).digest('hex')}\n`);
}
