#!/usr/bin/env node
// Entry point for `k8s-auth` and the kubectl plugin form `kubectl-k8s_auth`. Plain JS so that
// starting needs no TypeScript tooling; everything else lives in dist/ (built by `npm ci`).
//
// kubectl runs `k8s-auth credential …` on every call. This file is CommonJS (bin/package.json)
// so that a cache hit never starts the ES module loader: the hot path (dist/cjs, node builtins
// only) answers a fresh cached token, and the full CLI (ESM: commander, openid-client…) loads
// only on a miss or for any other command. No process.exit after a hit: let node drain stdout.
'use strict';

const servedFromCache = process.argv[2] === 'credential' && require('../dist/cjs/credential/hot-path.js').runHotPath(process.argv);
if (!servedFromCache) {
  import('../dist/cli.js').then(
    ({ main }) => main(process.argv),
    (error) => {
      process.stderr.write(`error: cannot load k8s-auth (${error.message}): run 'npm run build' in its folder\n`);
      process.exitCode = 1;
    },
  );
}
