// The catalog entry index (core/catalog-index.ts) against the one-entry cut it stands for
// (catalogEntryText), on generated catalog files: every name the cut takes is in the index, and
// the slice the index points at reads as exactly that entry; any other span (a stale or forged
// index) reads as that entry or as nothing, never as other bytes.
import { describe, expect, it } from 'vitest';
import { catalogEntryText } from '../../src/core/catalog-file.js';
import { type CatalogIndex, entryFromSlice, indexCatalog } from '../../src/core/catalog-index.js';
import { random } from '../support/kubeconfig-generator.js';

function generateCatalog(seed: number): { text: string; names: string[] } {
  const { chance, pick } = random(seed);
  const indent = ' '.repeat(pick([2, 2, 2, 4, 1]));
  const out: string[] = [];
  if (chance(0.2)) out.push('# the fleet');
  out.push(chance(0.05) ? 'clusters: # why' : 'clusters:');
  if (chance(0.1)) out.push('', `${indent}# first`);
  const names = Array.from({ length: 1 + (seed % 6) }, (_, i) => pick([`c${i}`, `prod-${i}`, `a.b-${i}`, 'dup', `constructor`, `x${i}`]));
  for (const name of names) {
    out.push(`${indent}${name}:${chance(0.1) ? ' ' : ''}${chance(0.05) ? ' {}' : ''}`);
    const fields = pick([
      ['server: https://x:6443', 'issuer-url: https://dex', 'client-id: k'],
      ['server: https://y:6443', 'certificate-authority-data: QUJD', '', 'client-id: k'],
      ['extra-scopes:', '  - groups', 'server: https://z'],
      ['note: |', '  text', '  more'],
    ]);
    for (const f of fields) out.push(f === '' ? '' : `${indent}${indent}${f}`);
    if (chance(0.15)) out.push(pick(['', `${indent}# between`, '# at column 0', `${indent}${indent}# deep`, ' '.repeat(indent.length + 1) + 'odd: 1']));
  }
  if (chance(0.05)) out.push('extra: 1');
  return { text: out.join('\n') + (chance(0.8) ? '\n' : ''), names: [...new Set([...names, 'absent'])] };
}

/** What the adapter reads for a span: the entry, and the indent and one more of what follows. */
function throughIndex(text: string, index: CatalogIndex, name: string, span: readonly [number, number]): string | undefined {
  const [start, end] = span;
  if (start < 0 || start >= end || end > text.length) return undefined;
  return entryFromSlice(text.slice(start, end), text.slice(end, Math.min(text.length, end + index.indent + 1)), name, index.indent);
}

describe('the catalog entry index', () => {
  it('gives every entry the cut gives, and only through its own span, over 800 generated catalogs', () => {
    let indexed = 0;
    let forged = 0;
    for (let seed = 1; seed <= 800; seed++) {
      const { text, names } = generateCatalog(seed);
      const index = indexCatalog(text);
      for (const name of names) {
        const cut = catalogEntryText(text, name);
        const span = index && Object.hasOwn(index.entries, name) ? index.entries[name] : undefined;
        expect(span !== undefined, `seed ${seed}: ${name} indexed iff cut`).toBe(cut !== undefined);
        if (!index || !span) continue;
        indexed += 1;
        expect(throughIndex(text, index, name, span), `seed ${seed}: ${name}`).toBe(cut);
        // a wrong span: shifted, widened, narrowed, or another entry's
        const others = Object.values(index.entries).filter((s) => s !== span);
        const [start, end] = span;
        // cut at each line end inside it, or running on over the entries after it
        const lineEnds: number[] = [];
        for (let at = text.indexOf('\n', start); at >= 0 && at + 1 < end; at = text.indexOf('\n', at + 1)) lineEnds.push(at + 1);
        const longer = others.filter(([s]) => s >= end).map(([, e]) => e);
        const wrong: (readonly [number, number])[] = [
          [start + 1, end], [start - 1, end], [start, end + 1], [start, end - 1], [start, end + 7], [start, Math.max(start + 1, end - 9)],
          ...lineEnds.map((e) => [start, e] as const), ...longer.map((e) => [start, e] as const), ...others,
        ];
        for (const w of wrong) {
          const read = throughIndex(text, index, name, w);
          if (read !== undefined) expect(read, `seed ${seed}: ${name} through ${w.join('..')}`).toBe(cut);
          forged += 1;
        }
      }
    }
    expect(indexed).toBeGreaterThan(1000);
    expect(forged).toBeGreaterThan(5000);
  });

  it('leaves out a name written twice and declines what the cut declines', () => {
    expect(indexCatalog('clusters:\n  a:\n    server: x\n  a:\n    server: y\n')?.entries).toEqual({});
    expect(indexCatalog('clusters:\n  a:\n    server: x\nother: 1\n')).toBeUndefined();
    expect(indexCatalog('clusters:\n\ta:\n')).toBeUndefined();
    expect(indexCatalog('clusters:\n  a:\n    server: x\n  b:\n    server: y')?.entries).toEqual({ a: [10, 29], b: [29, 47] });
  });
});
