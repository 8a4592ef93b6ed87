import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseSimpleYaml } from '../core/simple-yaml.js';
import { type CatalogFileContent, catalogEntryText, catalogFileEntry, catalogFileNames, entryDocument, parseCatalogFile } from '../core/catalog-file.js';
import { entryFromSlice, indexCatalog } from '../core/catalog-index.js';
import { indexDirectory, indexFile, readIndex, writeIndex } from './catalog-index-store.js';
import { fileIdentity } from './file-identity.js';
import type { ClusterEntry } from '../core/cluster-entry.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { debug } from '../ui/log.js';
import type { Catalog } from '../usecases/catalog.js';

/**
 * The local catalog file (`--catalog`, K8S_AUTH_CATALOG, else ~/.config/k8s-auth/clusters.yaml),
 * read once per process. `explicit` says the user named the file, which changes the hint when it
 * is missing.
 */
export class FileCatalog implements Catalog {
  private content: Promise<CatalogFileContent> | undefined;

  constructor(
    readonly path: string,
    private readonly explicit: boolean,
    /** where the entry index of an unchanged catalog is kept between runs (adapters/catalog-index-store.ts) */
    private readonly indexDir: string = indexDirectory(),
  ) {}

  describe(): string {
    return this.path;
  }

  async list(): Promise<string[]> {
    return catalogFileNames(await this.load());
  }

  async get(name: string): Promise<ClusterEntry> {
    // one entry of a large plain file is cut out and parsed alone; any doubt reads the whole file
    if (this.content === undefined) {
      const entryText = this.entryText(name);
      const raw = entryText === undefined ? undefined : parseSimpleYaml(entryText);
      if (raw !== undefined) return catalogFileEntry(parseCatalogFile(raw, this.path), name, this.path);
    }
    return catalogFileEntry(await this.load(), name, this.path);
  }

  /**
   * The entry of `name` as a document of its own: read through the index when it was made for
   * the file as it is now (a few hundred bytes), else cut from the whole file, indexing it for
   * the next run. Undefined when it can't be cut: load() below reads the file and says why.
   */
  private entryText(name: string): string | undefined {
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'r');
      const { identity, size, racy } = fileIdentity(fd);
      const file = indexFile(this.indexDir, this.path);
      let index = readIndex(file, identity);
      const span: unknown = index && Object.hasOwn(index.entries, name) ? index.entries[name] : undefined;
      if (index && span !== undefined) {
        const [start, end] = Array.isArray(span) && span.length === 2 ? (span as unknown[]) : [];
        if (typeof start === 'number' && typeof end === 'number' && Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= size) {
          // the entry, and enough of the next line to see that it ends the entry
          const read = readAt(fd, start, Math.min(size, end + index.indent + 1) - start).toString('utf8');
          const entry = entryFromSlice(read.slice(0, end - start), read.slice(end - start), name, index.indent);
          if (entry !== undefined) {
            debug(`catalog ${this.path}: the entry of ${name} read through its index`);
            return entry;
          }
        }
        index = undefined; // it says what the file does not hold: made again below
      }
      // bytes, then one decode: for a 1.6 MB file ~1.5 ms less than readFile(…, 'utf8') here
      const bytes = readFileSync(fd);
      const text = bytes.toString('utf8');
      // offsets are bytes only in an all-ASCII file; an index that holds (the name is not in it) stays
      if (!index && !racy && bytes.length === text.length) {
        const made = indexCatalog(text);
        if (made) {
          writeIndex(file, identity, made);
          debug(`catalog ${this.path}: indexed ${Object.keys(made.entries).length} entries in ${file}`);
          // the index holds exactly the entries the cut takes (test/unit/catalog-index.test.ts): no second search
          const madeSpan = Object.hasOwn(made.entries, name) ? made.entries[name] : undefined;
          return madeSpan ? entryDocument(text.slice(madeSpan[0], madeSpan[1])) : undefined;
        }
      }
      return catalogEntryText(text, name);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  private load(): Promise<CatalogFileContent> {
    this.content ??= this.read();
    return this.content;
  }

  private async read(): Promise<CatalogFileContent> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new CliError(
          ExitCode.CATALOG,
          this.explicit
            ? `catalog file ${this.path} does not exist`
            : `no cluster catalog: VAULT_ADDR is not set and ${this.path} does not exist; set VAULT_ADDR, pass --catalog FILE, or create that file (see docs/configuration.md)`,
        );
      }
      if (code === 'EISDIR') throw new CliError(ExitCode.CATALOG, `catalog file ${this.path} is a directory`);
      throw new CliError(ExitCode.CATALOG, `cannot read catalog file ${this.path}: ${describeError(error)}`, { cause: error });
    }
    let raw: unknown;
    try {
      // the narrow reader answers for plain YAML (a 1,000-cluster catalog ~8x faster, and no
      // yaml library to load); anything else, and every error, comes from the yaml library
      raw = parseSimpleYaml(text) ?? (await import('yaml')).parse(text, { prettyErrors: false });
    } catch (error) {
      const first = describeError(error).split('\n')[0];
      throw new CliError(ExitCode.CATALOG, `catalog file ${this.path} is not valid YAML: ${first}`, { cause: error });
    }
    return parseCatalogFile(raw, this.path);
  }
}

/** `length` bytes of an open file from `position` (fewer at its end). */
function readAt(fd: number, position: number, length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, bytes, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return bytes.subarray(0, got);
}
