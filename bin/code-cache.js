// Requires one of our bundled CommonJS files (dist/cli.cjs, dist/vendor/client-node.cjs) with
// the V8 code cache the build wrote beside it (FILE.v8cache, scripts/bundle-cli.mjs), so start-up
// skips parsing and compiling what the cache holds: ~7 ms of `whoami`, ~30 ms of loading
// client-node (docs/performance.md). Node 22 has module.enableCompileCache; Node 20 does not.
// Without a cache file, or when V8 rejects it (another Node version or flags), this is a plain
// require. Nothing is written at run time: dist/ may be read-only.
'use strict';

const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

function requireWithCodeCache(file) {
  const cached = Module._cache[file];
  if (cached) return cached.exports;
  const dynamicImport = vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  let cachedData;
  try {
    cachedData = fs.readFileSync(`${file}.v8cache`);
  } catch {
    // no cache: the build did not write one
  }
  if (!cachedData || !dynamicImport) return require(file);
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData, importModuleDynamically: dynamicImport });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  Module._cache[file] = mod;
  try {
    script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  } catch (error) {
    delete Module._cache[file];
    throw error;
  }
  mod.loaded = true;
  return mod.exports;
}

/**
 * Writes FILE.v8cache for the build. The Script must be made with the same dynamic import
 * option as at run time: code deserialized from a cache made without it fails every import()
 * ("A dynamic import callback was not specified").
 */
function writeCodeCache(file) {
  const dynamicImport = vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!dynamicImport) return false;
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, importModuleDynamically: dynamicImport });
  fs.writeFileSync(`${file}.v8cache`, script.createCachedData());
  return true;
}

/**
 * import() for the bundles. Functions V8 restores from a code cache lose the script's dynamic
 * import callback ("A dynamic import callback was not specified", seen in a fresh process), so
 * the build rewrites each bundle's import('<package>') into a call of this function, compiled
 * the ordinary way. Packages resolve from bin/ as from dist/: the same node_modules.
 */
function importPackage(specifier) {
  return import(specifier);
}

module.exports = { importPackage, requireWithCodeCache, writeCodeCache };
