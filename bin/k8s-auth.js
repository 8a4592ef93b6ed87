#!/usr/bin/env node
// Entry point for `k8s-auth` and the kubectl plugin form `kubectl-k8s_auth`. Plain JS so that
// starting needs no TypeScript tooling; everything else lives in dist/ (built by `npm ci`).
//
// kubectl runs `k8s-auth credential …` on every call. This file is CommonJS (bin/package.json)
// so that no command starts the ES module loader for our own code: the hot path (dist/cjs, node
// builtins only) answers a fresh cached token, and everything else is dist/cli.cjs, our modules
// bundled into one CommonJS file (scripts/bundle-cli.mjs; ES-module-only packages such as
// openid-client load on first use). No process.exit after a hit: let node drain stdout.
'use strict';

const servedFromCache = process.argv[2] === 'credential' && require('../dist/cjs/credential/hot-path.js').runHotPath(process.argv);
if (!servedFromCache) {
  let cli;
  try {
    cli = require('./code-cache.js').requireWithCodeCache(require('node:path').join(__dirname, '..', 'dist', 'cli.cjs'));
  } catch (error) {
    process.stderr.write(`error: cannot load k8s-auth (${error.message.split('\n')[0]}): run 'npm run build' in its folder\n`);
    process.exitCode = 1;
  }
  if (cli) void cli.main(process.argv);
}
