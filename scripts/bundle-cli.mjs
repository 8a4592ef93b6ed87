// Bundles tsc's ES module output (dist/) into one CommonJS file, dist/cli.cjs, which
// bin/k8s-auth.js requires. Why: on Node 20 every ES module costs an asynchronous file read,
// resolve and compile, and a command's start-up loaded 40–60 of ours; one CommonJS file loads with
// one synchronous read and no ES module loader (docs/performance.md has the measurements).
// Packages stay external (required or imported from node_modules as before), and dynamic
// imports of our own modules stay lazy: esbuild turns them into functions run on first use.
//
// One package is bundled too, into its own file: @kubernetes/client-node 1.x is ~900 ES modules
// and took ~0.7 s to import on this machine (every rbac command, token through client-node);
// dist/vendor/client-node.cjs holds the classes we use and what they need, required in ~0.12 s.
// node-vault and its small dependencies go into dist/vendor/node-vault.cjs, without axios: the
// catalog read comes before the browser opens, node-vault requires axios at the top, and
// vault-client.ts always hands node-vault our own transport, so axios's ~50 ms bought nothing.
// commander goes into dist/cli.cjs itself: every command loads it, so its code belongs in the
// same code cache, and its top-level require of node:child_process (~3.5 ms, used only to run
// executable subcommands, which we have none of) becomes a require on first use.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/** What kube-client.ts and kube-http.ts use of client-node (`k8s.<name>`); checked below. */
const CLIENT_NODE_EXPORTS = ['AuthorizationV1Api', 'CoreV1Api', 'KubeConfig', 'RbacAuthorizationV1Api', 'ResponseContext', 'ServerConfiguration', 'createConfiguration', 'wrapHttpLibrary'];

const vendor = await build({
  stdin: { contents: `export { ${CLIENT_NODE_EXPORTS.join(', ')} } from '@kubernetes/client-node';`, resolveDir: root, loader: 'js', sourcefile: 'client-node-entry.js' },
  outfile: join(dist, 'vendor', 'client-node.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  // client-node's own files only: its dependencies load from node_modules
  plugins: [{ name: 'client-node-only', setup: (b) => b.onResolve({ filter: /^[^./]/ }, ({ path }) => (path.startsWith('@kubernetes/client-node') ? undefined : { path, external: true })) }],
});

/** Stands in for axios inside the node-vault bundle: only node-vault's default transport used it. */
const AXIOS_STAND_IN = `module.exports = { create() { throw new Error('node-vault was bundled without axios: pass a request-promise option (src/adapters/vault-client.ts does)'); } };`;

const vendorNodeVault = await build({
  stdin: { contents: `module.exports = require('node-vault');`, resolveDir: root, loader: 'js', sourcefile: 'node-vault-entry.js' },
  outfile: join(dist, 'vendor', 'node-vault.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  plugins: [
    {
      name: 'node-vault-without-axios',
      setup: (b) => {
        b.onResolve({ filter: /^axios$/ }, () => ({ path: 'axios', namespace: 'axios-stand-in' }));
        b.onLoad({ filter: /.*/, namespace: 'axios-stand-in' }, () => ({ contents: AXIOS_STAND_IN, loader: 'js' }));
      },
    },
  ],
});

/** `import('pkg')` or `import("node:fs")` with a literal that is not a relative path. */
const PACKAGE_IMPORT = /\bimport\((['"])([^.'"][^'"]*)\1\)/g;
/** bin/code-cache.js, bound once at the top of the bundle: its importPackage and requireWithCodeCache. */
const CODE_CACHE_BANNER = 'const __codeCache = require(require("node:path").join(__dirname, "..", "bin", "code-cache.js"));';
/** vault-client.ts's one static import of node-vault, as tsc writes it. */
const NODE_VAULT_IMPORT = "import nodeVault from 'node-vault';";
const VENDOR_NODE_VAULT = 'const nodeVault = __codeCache.requireWithCodeCache(require("node:path").join(__dirname, "vendor", "node-vault.cjs"));';
let nodeVaultImports = 0;
const VENDOR_CLIENT_NODE = 'Promise.resolve().then(() => __codeCache.requireWithCodeCache(require("node:path").join(__dirname, "vendor", "client-node.cjs")))';
let clientNodeImports = 0;
/** commander/lib/command.js's eager child_process require, and what the bundle has instead. */
const COMMANDER_CHILD_PROCESS = "const childProcess = require('node:child_process');";
const LAZY_CHILD_PROCESS = "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };";
let commanderChildProcess = 0;

/** commander is bundled (the one package in dist/cli.cjs), with child_process loaded on first use. */
const bundleCommander = {
  name: 'bundle-commander',
  setup(builder) {
    const requireHere = createRequire(import.meta.url);
    builder.onResolve({ filter: /^commander$/ }, () => ({ path: requireHere.resolve('commander') }));
    builder.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      if (!text.includes(COMMANDER_CHILD_PROCESS)) return undefined;
      commanderChildProcess += 1;
      return { contents: text.replace(COMMANDER_CHILD_PROCESS, LAZY_CHILD_PROCESS), loader: 'js' };
    });
  },
};

/**
 * What each of tsc's files needs to run inside one CommonJS bundle:
 * - CommonJS has no import.meta: each file gets the URL it has in dist/, so what it finds beside
 *   itself (createRequire, api.proto) resolves exactly as in the ES module build;
 * - client-node and node-vault come from their vendor files;
 * - any other package's dynamic import goes through bin/code-cache.js importPackage (see there why).
 */
const rewriteForCommonJs = {
  name: 'rewrite-for-commonjs',
  setup(builder) {
    builder.onLoad({ filter: /\.js$/ }, async ({ path }) => {
      const original = await readFile(path, 'utf8');
      let text = original;
      if (text.includes('import.meta.url')) {
        const fromDist = relative(dist, path).split('\\').join('/');
        text = text.replaceAll('import.meta.url', `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(fromDist)})).href`);
      }
      if (text.includes(NODE_VAULT_IMPORT)) {
        nodeVaultImports += 1;
        text = text.replace(NODE_VAULT_IMPORT, VENDOR_NODE_VAULT);
      }
      text = text.replace(PACKAGE_IMPORT, (_, quote, specifier) => {
        if (specifier !== '@kubernetes/client-node') return `__codeCache.importPackage(${quote}${specifier}${quote})`;
        clientNodeImports += 1;
        return VENDOR_CLIENT_NODE;
      });
      return text === original ? undefined : { contents: text, loader: 'js' };
    });
  },
};

// every `k8s.<name>` in the compiled adapters must be one the vendor file exports
for (const file of await readdir(join(dist, 'adapters'))) {
  if (!file.endsWith('.js')) continue;
  const text = await readFile(join(dist, 'adapters', file), 'utf8');
  for (const [, name] of text.matchAll(/\bk8s\.([A-Za-z_]\w*)/g)) {
    if (name !== 'io' && !CLIENT_NODE_EXPORTS.includes(name)) throw new Error(`dist/adapters/${file} uses k8s.${name}: add it to CLIENT_NODE_EXPORTS in scripts/bundle-cli.mjs`);
  }
}

const result = await build({
  entryPoints: [join(dist, 'cli.js')],
  outfile: join(dist, 'cli.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  banner: { js: CODE_CACHE_BANNER },
  plugins: [bundleCommander, rewriteForCommonJs],
  logLevel: 'warning',
});
if ([vendor, vendorNodeVault, result].some((r) => r.errors.length > 0 || r.warnings.length > 0)) process.exit(1);
if (nodeVaultImports !== 1) throw new Error(`expected vault-client.js's one \`${NODE_VAULT_IMPORT}\`, found ${nodeVaultImports}: update scripts/bundle-cli.mjs`);
if (commanderChildProcess !== 1) throw new Error(`expected commander/lib/command.js's \`${COMMANDER_CHILD_PROCESS}\` once, found ${commanderChildProcess}: update scripts/bundle-cli.mjs`);
if (clientNodeImports === 0) throw new Error("no import('@kubernetes/client-node') was found to point at dist/vendor/client-node.cjs: update scripts/bundle-cli.mjs");

// the V8 code cache of each bundle, read by bin/code-cache.js at start-up
const { writeCodeCache } = createRequire(import.meta.url)('../bin/code-cache.js');
for (const file of [join(dist, 'cli.cjs'), join(dist, 'vendor', 'client-node.cjs'), join(dist, 'vendor', 'node-vault.cjs')]) writeCodeCache(file);
