// Bundles tsc's ES module output (dist/) into one CommonJS file, dist/cli.cjs, which
// bin/k8s-auth.js requires. Why: on Node 20 every ES module costs an asynchronous file read,
// resolve and compile, and a command's start-up loaded 40–60 of ours; one CommonJS file loads with
// one synchronous read and no ES module loader (docs/performance.md has the measurements).
// Packages stay external (required or imported from node_modules as before), and dynamic
// imports of our own modules stay lazy: esbuild turns them into functions run on first use.
import { readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

/**
 * CommonJS has no import.meta: give each file the URL it has in dist/, so what it finds beside
 * itself (createRequire, api.proto) resolves exactly as in the ES module build.
 */
const importMetaUrlOfEachFile = {
  name: 'import-meta-url-of-each-file',
  setup(builder) {
    builder.onLoad({ filter: /\.js$/ }, async ({ path }) => {
      const text = await readFile(path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromDist = relative(dist, path).split('\\').join('/');
      const url = `require("node:url").pathToFileURL(require("node:path").join(__dirname, ${JSON.stringify(fromDist)})).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'js' };
    });
  },
};

const result = await build({
  entryPoints: [join(dist, 'cli.js')],
  outfile: join(dist, 'cli.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  plugins: [importMetaUrlOfEachFile],
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0) process.exit(1);
