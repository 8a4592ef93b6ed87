import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { CatalogIndex } from '../core/catalog-index.js';
import { writeFileAtomic } from './atomic-file.js';

/**
 * The catalog file's entry index (core/catalog-index.ts), kept between runs beside the other
 * caches: `$XDG_CACHE_HOME/k8s-auth/catalog-index/<sha256 of the catalog's path>.json`. It is
 * trusted only for the file identity it was made for (adapters/file-identity.ts), only from a
 * file of ours that nobody else can write, and each slice read through it is checked again
 * (`entryFromSlice`). Best effort: any problem reading or writing it means the catalog is read
 * whole, as without it.
 */
const VERSION = 1;

export interface StoredIndex extends CatalogIndex {
  identity: string;
}

export function indexDirectory(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME']?.trim() || join(env['HOME']?.trim() || homedir(), '.cache');
  return join(base, 'k8s-auth', 'catalog-index');
}

export function indexFile(directory: string, catalogPath: string): string {
  return join(directory, `${createHash('sha256').update(resolve(catalogPath)).digest('hex')}.json`);
}

export function readIndex(file: string, identity: string): CatalogIndex | undefined {
  let fd: number | undefined;
  try {
    // never through a link: the index is a file of ours in a folder of ours, or nothing
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const stat = fstatSync(fd);
    // ours alone: a file someone else can write could point the reader at other bytes
    if (!stat.isFile() || (process.getuid && stat.uid !== process.getuid()) || (stat.mode & 0o022) !== 0) return undefined;
    const stored = JSON.parse(readFileSync(fd, 'utf8')) as Partial<StoredIndex> & { version?: number };
    if (stored.version !== VERSION || stored.identity !== identity || typeof stored.indent !== 'number' || !stored.entries || typeof stored.entries !== 'object') return undefined;
    return { indent: stored.indent, entries: stored.entries };
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function writeIndex(file: string, identity: string, index: CatalogIndex): void {
  try {
    // a link planted at its name is replaced, never written through
    writeFileAtomic(file, JSON.stringify({ version: VERSION, identity, indent: index.indent, entries: index.entries }), 0o600, { followSymlink: false });
  } catch {
    // a cache: the next login reads the catalog whole again
  }
}
