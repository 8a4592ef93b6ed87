// The layer rule of docs/design.md ("Layers and where new code goes"), checked on the source:
// every relative import in src/ (static, `export … from` and dynamic `import()`) points at the
// same layer or one below it. The one allowed upward arrow is a type-only import of a port that
// the layer above defines (an adapter implementing usecases/catalog.ts's Catalog).
// A file's layer is its first folder under src/; a folder below that (src/<layer>/<feature>/) is a
// feature folder, and code outside a feature imports only the feature's index.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '../../src');
const DESIGN = join(SRC, '../docs/design.md');

/** Higher imports lower; equal ranks may import each other. Mirrors the table in docs/design.md. */
const LAYER_RANK: Record<string, number> = {
  'cli.ts': 6,
  commands: 5,
  config: 4,
  usecases: 3,
  adapters: 2,
  ui: 1,
  credential: 1,
  core: 0,
  'errors.ts': 0,
  types: 0,
};

interface Arrow {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function arrowsOf(file: string): Arrow[] {
  return arrowsIn(relative(SRC, file), readFileSync(file, 'utf8'));
}

function arrowsIn(from: string, text: string): Arrow[] {
  const arrows: Arrow[] = [];
  const pattern = /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
  for (const match of text.matchAll(pattern)) {
    const spec = match[3] ?? match[4];
    if (!spec) continue;
    const to = normalize(join(dirname(from), spec)).replace(/\.js$/, '.ts');
    arrows.push({ from, to, typeOnly: match[2] !== undefined });
  }
  return arrows;
}

function layerOf(path: string): string {
  const top = path.split('/')[0] ?? path;
  return top;
}

/** `rbac` for `core/rbac/plan.ts`; undefined for a file directly in its layer (shared code). */
function featureOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length > 2 ? parts[1] : undefined;
}

/** Arrows into a feature folder from outside the feature (any layer) that miss its index.ts. */
function featureInternalsArrows(list: Arrow[]): string[] {
  const bad = list
    .filter((a) => featureOf(a.to) !== undefined && featureOf(a.to) !== featureOf(a.from))
    .filter((a) => a.to.split('/').slice(2).join('/') !== 'index.ts')
    .map((a) => `${a.from} -> ${a.to}`);
  return [...new Set(bad)];
}

/** The feature folders the map (the first code block of docs/design.md) shows: `  rbac/` under `src/core/`. */
function mappedFeatureFolders(design: string): string[] {
  const map = design.split('```')[1] ?? '';
  let layer = '';
  const folders: string[] = [];
  for (const line of map.split('\n')) {
    const top = /^src\/([a-z]+)\//.exec(line);
    if (top) layer = top[1] ?? '';
    const feature = /^ {2}([a-z-]+)\/ /.exec(line);
    if (feature && layer) folders.push(`${layer}/${feature[1] ?? ''}/`);
  }
  return folders.sort();
}

function featureFolders(): string[] {
  return readdirSync(SRC, { withFileTypes: true })
    .filter((layer) => layer.isDirectory())
    .flatMap((layer) => readdirSync(join(SRC, layer.name), { withFileTypes: true }).filter((entry) => entry.isDirectory()).map((entry) => `${layer.name}/${entry.name}/`));
}

/** Arrows up a layer, less type-only imports of a use case's port by an adapter. */
function upwardArrows(list: Arrow[]): string[] {
  const up = list
    .filter((a) => (LAYER_RANK[layerOf(a.to)] ?? 0) > (LAYER_RANK[layerOf(a.from)] ?? 0))
    .filter((a) => !(a.typeOnly && layerOf(a.from) === 'adapters' && layerOf(a.to) === 'usecases'))
    .map((a) => `${a.from} -> ${a.to}`);
  return [...new Set(up)];
}

const arrows = sourceFiles(SRC).flatMap(arrowsOf);

describe('import directions (docs/design.md)', () => {
  it('reads a sensible graph: every src/ file is in a known layer, and there are many arrows', () => {
    expect(arrows.length).toBeGreaterThan(300);
    const unknown = [...new Set(arrows.flatMap((a) => [a.from, a.to]).map(layerOf))].filter((layer) => LAYER_RANK[layer] === undefined);
    expect(unknown).toEqual([]);
  });

  it('no arrow points up a layer, except type-only imports of ports', () => {
    expect(upwardArrows(arrows)).toEqual([]);
  });

  it('outside a feature folder, code imports only its index.ts; the same feature in another layer may import any of its files', () => {
    expect(featureInternalsArrows(arrows)).toEqual([]);
  });

  it("docs/design.md's layer table gives every layer the rank this test checks, and its map names every feature folder", () => {
    const design = readFileSync(DESIGN, 'utf8');
    const rows = [...design.matchAll(/^\| (\d) \| (.+?) \|/gm)].flatMap((row) => [...(row[2] ?? '').matchAll(/`src\/([^`]+?)\/?`/g)].map((name) => [name[1] ?? '', Number(row[1])] as const));
    expect(Object.fromEntries(rows)).toEqual(LAYER_RANK);
    const folders = featureFolders();
    expect(folders.length).toBeGreaterThanOrEqual(8);
    expect(mappedFeatureFolders(design)).toEqual(folders.sort());
  });

  it('core and the exec hot path import no adapter, use case, command or UI code', () => {
    const bad = arrows.filter((a) => ['core', 'credential'].includes(layerOf(a.from)) && !['core', 'errors.ts', 'types'].includes(layerOf(a.to)));
    expect(bad.map((a) => `${a.from} -> ${a.to}`)).toEqual([]);
  });

  it('the checker sees static, re-exported, multi-line and dynamic imports, and type-only ones', () => {
    const text = [
      "import { request } from '../adapters/http.js';",
      "export { x } from '../ui/log.js';",
      'import {',
      '  a,',
      '  b,',
      "} from '../commands/login.js';",
      "const m = await import('../usecases/login.js');",
      "import type { Catalog } from '../usecases/catalog.js';",
      "import { parseSeconds } from './seconds.js';",
    ].join('\n');
    const found = arrowsIn('core/fake.ts', text);
    expect(found).toEqual([
      { from: 'core/fake.ts', to: 'adapters/http.ts', typeOnly: false },
      { from: 'core/fake.ts', to: 'ui/log.ts', typeOnly: false },
      { from: 'core/fake.ts', to: 'commands/login.ts', typeOnly: false },
      { from: 'core/fake.ts', to: 'usecases/login.ts', typeOnly: false },
      { from: 'core/fake.ts', to: 'usecases/catalog.ts', typeOnly: true },
      { from: 'core/fake.ts', to: 'core/seconds.ts', typeOnly: false },
    ]);
    expect(upwardArrows(found)).toEqual(['core/fake.ts -> adapters/http.ts', 'core/fake.ts -> ui/log.ts', 'core/fake.ts -> commands/login.ts', 'core/fake.ts -> usecases/login.ts', 'core/fake.ts -> usecases/catalog.ts']);
    expect(featureInternalsArrows([
      { from: 'commands/index.ts', to: 'commands/rbac/index.ts', typeOnly: false },
      { from: 'commands/rbac/apply.ts', to: 'usecases/rbac/apply.ts', typeOnly: false },
      { from: 'commands/rbac/apply.ts', to: 'core/cluster-entry.ts', typeOnly: false },
      { from: 'config/sign-in-flags.ts', to: 'core/completion/bash.ts', typeOnly: false },
      { from: 'usecases/doctor/index.ts', to: 'core/rbac/plan.ts', typeOnly: true },
    ])).toEqual(['config/sign-in-flags.ts -> core/completion/bash.ts', 'usecases/doctor/index.ts -> core/rbac/plan.ts']);
    expect(upwardArrows(arrowsIn('adapters/fake.ts', "import type { Catalog } from '../usecases/catalog.js';\nimport { run } from '../usecases/login.js';"))).toEqual(['adapters/fake.ts -> usecases/login.ts']);
  });
});
