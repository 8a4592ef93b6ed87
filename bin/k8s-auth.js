#!/usr/bin/env node
// Entry point for `k8s-auth` and the kubectl plugin form `kubectl-k8s_auth`. Plain JS so that
// starting needs no TypeScript tooling; everything else lives in dist/ (built by `npm ci`).
//
// kubectl runs `k8s-auth credential …` on every call: try the cached token first with a module
// that loads node builtins only, and load the full CLI (commander, openid-client…) on a miss.
// No process.exit after a hit: stdout is asynchronous on some platforms, so let node drain it.
const servedFromCache =
  process.argv[2] === 'credential' && (await import('../dist/credential/hot-path.js')).runHotPath(process.argv);
if (!servedFromCache) {
  const { main } = await import('../dist/cli.js');
  await main(process.argv);
}
