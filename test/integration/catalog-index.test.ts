// The catalog file's entry index kept between runs (adapters/catalog-index-store.ts): made on the
// first read of an unchanged file, used by the next process (a fresh FileCatalog), never trusted
// for a changed file, a slice that is not the entry, or an index file someone else could write.
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { indexFile } from '../../src/adapters/catalog-index-store.js';
import { FileCatalog } from '../../src/adapters/file-catalog.js';
import { configureLog } from '../../src/ui/log.js';
import { tempDir, type TempDir } from '../support/login-harness.js';

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 80)); // past the racy-change window

function fleet(server: (i: number) => string): string {
  const clusters: Record<string, Record<string, string>> = {};
  for (let i = 0; i < 50; i++) clusters[`c${i}`] = { server: server(i), 'issuer-url': 'https://dex.example', 'client-id': 'k8s' };
  return stringify({ clusters });
}

describe('catalog entry index', () => {
  let dir: TempDir;
  const debugLines: string[] = [];
  beforeAll(() => {
    dir = tempDir('k8s-auth-catalog-index-');
    configureLog({ verbose: true });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      debugLines.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    debugLines.length = 0;
  });
  afterAll(() => {
    vi.restoreAllMocks();
    configureLog({ verbose: false });
    dir.remove();
  });
  const throughIndex = (): boolean => debugLines.some((l) => l.includes('read through its index'));

  it('is made on the first read, used by the next run, and made again when the file changes', async () => {
    const path = dir.file('clusters.yaml');
    const indexes = dir.file('cache');
    writeFileSync(path, fleet((i) => `https://c${i}.example:6443`));
    await settle();
    expect((await new FileCatalog(path, true, indexes).get('c7')).server).toBe('https://c7.example:6443');
    expect(throughIndex()).toBe(false);
    const file = indexFile(indexes, path);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Object.keys((JSON.parse(readFileSync(file, 'utf8')) as { entries: object }).entries)).toHaveLength(50);

    const next = await new FileCatalog(path, true, indexes).get('c9');
    expect(throughIndex()).toBe(true);
    expect(next.server).toBe('https://c9.example:6443');
    expect(next.issuerUrl).toBe('https://dex.example');

    debugLines.length = 0;
    writeFileSync(path, fleet((i) => `https://changed-${i}.example:6443`));
    await settle();
    expect((await new FileCatalog(path, true, indexes).get('c9')).server).toBe('https://changed-9.example:6443');
    expect(throughIndex()).toBe(false);
    expect((await new FileCatalog(path, true, indexes).get('c9')).server).toBe('https://changed-9.example:6443');
    expect(throughIndex()).toBe(true);
  });

  it('reads the whole file when the index points at other bytes, or someone else could write it', async () => {
    const path = dir.file('forged.yaml');
    const indexes = dir.file('cache-forged');
    writeFileSync(path, fleet((i) => `https://c${i}.example:6443`));
    await settle();
    await new FileCatalog(path, true, indexes).get('c1');
    const file = indexFile(indexes, path);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, [number, number]> };
    // c9 pointed at c8's entry: the slice does not start with c9's name line
    stored.entries['c9'] = stored.entries['c8'] as [number, number];
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600 });
    debugLines.length = 0;
    expect((await new FileCatalog(path, true, indexes).get('c9')).server).toBe('https://c9.example:6443');
    expect(throughIndex()).toBe(false);
    // and made again, right
    expect((JSON.parse(readFileSync(file, 'utf8')) as typeof stored).entries['c9']).not.toEqual(stored.entries['c8']);

    chmodSync(file, 0o666);
    debugLines.length = 0;
    expect((await new FileCatalog(path, true, indexes).get('c3')).server).toBe('https://c3.example:6443');
    expect(throughIndex()).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['not JSON', (_: string): string => '{"version": 1, "ident'],
    ['another version', (text: string): string => text.replace('"version":1', '"version":7')],
    ['a span past the end of the file', (text: string): string => text.replace(/"c6":\[\d+,\d+\]/, '"c6":[10,99999999]')],
    ['a span that is not a pair', (text: string): string => text.replace(/"c6":\[\d+,\d+\]/, '"c6":12')],
    ['a span that is not whole numbers', (text: string): string => text.replace(/"c6":\[\d+,\d+\]/, '"c6":[1.5,"x"]')],
  ])('an index file that is %s: the whole file is read, and the index made again', async (what, damage) => {
    const path = dir.file(`damaged-${what.length}.yaml`);
    const indexes = dir.file(`cache-damaged-${what.length}`);
    writeFileSync(path, fleet((i) => `https://c${i}.example:6443`));
    await settle();
    await new FileCatalog(path, true, indexes).get('c1');
    const file = indexFile(indexes, path);
    const good = readFileSync(file, 'utf8');
    const bad = damage(good);
    expect(bad).not.toBe(good);
    writeFileSync(file, bad, { mode: 0o600 });
    debugLines.length = 0;
    expect((await new FileCatalog(path, true, indexes).get('c6')).server).toBe('https://c6.example:6443');
    expect(throughIndex()).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe(good);
    expect((await new FileCatalog(path, true, indexes).get('c6')).server).toBe('https://c6.example:6443');
    expect(throughIndex()).toBe(true);
  });

  it('replaces a link planted at its name, never writing through it or reading it', async () => {
    const path = dir.file('linked.yaml');
    const indexes = dir.file('cache-linked');
    writeFileSync(path, fleet((i) => `https://c${i}.example:6443`));
    await settle();
    const victim = dir.file('victim.txt');
    writeFileSync(victim, 'keep me\n', { mode: 0o600 });
    mkdirSync(indexes, { mode: 0o700 });
    symlinkSync(victim, indexFile(indexes, path));
    expect((await new FileCatalog(path, true, indexes).get('c5')).server).toBe('https://c5.example:6443');
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
    expect(lstatSync(indexFile(indexes, path)).isFile()).toBe(true);
  });

  it('is not made for a file changed a moment ago, nor for one that is not all ASCII', async () => {
    const path = dir.file('fresh.yaml');
    const indexes = dir.file('cache-fresh');
    writeFileSync(path, fleet((i) => `https://c${i}.example:6443`));
    expect((await new FileCatalog(path, true, indexes).get('c2')).server).toBe('https://c2.example:6443');
    expect(() => statSync(indexFile(indexes, path))).toThrow();

    const accents = dir.file('accents.yaml');
    writeFileSync(accents, `# la flotte de Zoé\n${fleet((i) => `https://c${i}.example:6443`)}`);
    await settle();
    const entry = await new FileCatalog(accents, true, indexes).get('c4');
    expect(entry.server).toBe((parse(readFileSync(accents, 'utf8')) as { clusters: Record<string, { server: string }> }).clusters['c4']?.server);
    expect(() => statSync(indexFile(indexes, accents))).toThrow();
  });
});
