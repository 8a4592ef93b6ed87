import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseSimpleYaml } from '../core/simple-yaml.js';
import { type CatalogFileContent, catalogEntryText, catalogFileEntry, catalogFileNames, parseCatalogFile } from '../core/catalog-file.js';
import type { ClusterEntry } from '../core/cluster-entry.js';
import { CliError, ExitCode, describeError } from '../errors.js';
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
      // bytes, then one decode: for a 1.6 MB file ~1.5 ms less than readFile(…, 'utf8') here
      let text: string | undefined;
      try {
        text = readFileSync(this.path).toString('utf8');
      } catch {
        text = undefined; // load() below says what is wrong
      }
      const entryText = text === undefined ? undefined : catalogEntryText(text, name);
      const raw = entryText === undefined ? undefined : parseSimpleYaml(entryText);
      if (raw !== undefined) return catalogFileEntry(parseCatalogFile(raw, this.path), name, this.path);
    }
    return catalogFileEntry(await this.load(), name, this.path);
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
