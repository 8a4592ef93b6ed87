#!/usr/bin/env node
// Entry point for `k8s-auth` and the kubectl plugin form `kubectl-k8s_auth`. Plain JS so that
// starting needs no TypeScript tooling; everything else lives in dist/ (built by `npm ci`).
import { main } from '../dist/cli.js';

await main(process.argv);
