import { closeSync, openSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { KubeconfigSection } from '../core/kubeconfig-merge.js';
import { type KubeconfigLayout, type KubeconfigScope, scopedText, splitKubeconfig } from '../core/kubeconfig-layout.js';
import { checkPlainKubeconfig, invalidKubeconfigYaml } from '../core/kubeconfig-shape.js';
import { parseSimpleYaml } from '../core/simple-yaml.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import { fileIdentity } from './file-identity.js';

/**
 * Read-only lookups in kubeconfig files (kubectl's merged view) that parse only what they look at
 * (issue 16): a file in the plain block layout (core/kubeconfig-layout.ts) is scanned once, and
 * only its top-level keys and the named items asked for go through the narrow reader
 * (core/simple-yaml.ts). Any other file, or an item the narrow reader declines, is parsed whole,
 * with the yaml library when it must (loaded then, not with this module). A 1,000-context
 * kubeconfig thus costs `login` and `whoami` one layout scan instead of a full parse.
 */
type Plain = Record<string, unknown>;
const INNER: Record<KubeconfigSection, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

/** kubectl's merged view of several files: the first file that has a name (or current-context) wins. */
export interface MergedKubeconfig {
  paths: readonly string[];
  currentContext: string | undefined;
  find(section: KubeconfigSection, name: string): { path: string; value: Record<string, unknown> } | undefined;
  /** Every name in a section, in merge order, each once. */
  names(section: KubeconfigSection): string[];
}

/**
 * The last file read, by identity (adapters/file-identity.ts): `login` opens the same kubeconfig
 * for its check and for the existing login before the browser (a 2 MB file is ~5 ms a read).
 */
let lastRead: { path: string; identity: string; text: string; bytes: Buffer } | undefined;

/** The file's text, or undefined when it does not exist; throws (exit 8) when it cannot be read. */
export function readKubeconfigText(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const { identity, racy } = fileIdentity(fd);
    if (lastRead?.path === path && lastRead.identity === identity) return lastRead.text;
    // bytes, then one decode: Node 20's readFileSync(…, 'utf8') took ~5.7 ms for a 2 MB file here, this ~3.5 ms
    const bytes = readFileSync(fd);
    const text = bytes.toString('utf8');
    lastRead = racy ? undefined : { path, identity, text, bytes };
    return text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${path} is a directory, not a file: point --kubeconfig/KUBECONFIG at a file`);
    if (code === 'EACCES' || code === 'EPERM') throw new CliError(ExitCode.KUBECONFIG, `cannot read kubeconfig ${path} (permission denied): check its owner and mode`);
    throw new CliError(ExitCode.KUBECONFIG, `cannot read kubeconfig ${path}: ${describeError(error)}`, { cause: error });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The bytes `text` was decoded from, when it is the file last read and all ASCII (one byte per
 * character, so its character offsets are byte offsets): the writer copies unchanged spans from
 * them instead of encoding 2 MB of text again.
 */
export function asciiBytesOf(path: string, text: string): Buffer | undefined {
  if (lastRead?.path !== path || lastRead.text !== text) return undefined;
  return lastRead.bytes.length === text.length ? lastRead.bytes : undefined;
}

/** The whole file as plain data: the narrow reader, else the yaml library (same errors as readKubeconfig). */
function parseWhole(text: string, path: string): Plain {
  let value: unknown = parseSimpleYaml(text);
  if (value === undefined) {
    // `yaml` is CommonJS under node (its "node" export): this is the instance `import 'yaml'` gives
    const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    const doc = parseDocument(text, { prettyErrors: false, keepSourceTokens: false });
    if (doc.errors.length > 0) throw invalidKubeconfigYaml(path, doc.errors[0]?.message ?? 'parse error');
    value = doc.toJSON() as unknown;
  }
  checkPlainKubeconfig(value as Parameters<typeof checkPlainKubeconfig>[0], path);
  return isPlain(value) ? value : {};
}

/** One file, parsed as little as the lookups need. */
export class KubeconfigFileView {
  private readonly layout: KubeconfigLayout | undefined;
  private whole: Plain | undefined;
  private top: Plain | undefined;

  private constructor(
    readonly path: string,
    private readonly text: string,
  ) {
    this.layout = splitKubeconfig(text);
  }

  /** undefined for a missing file; throws (exit 8) for an unreadable or malformed one. */
  static open(path: string): KubeconfigFileView | undefined {
    const text = readKubeconfigText(path);
    if (text === undefined) return undefined;
    const view = new KubeconfigFileView(path, text);
    view.topLevel(); // checks the shape
    return view;
  }

  private all(): Plain {
    this.whole ??= parseWhole(this.text, this.path);
    return this.whole;
  }

  /** The scoped document (top-level keys plus the items in scope), or undefined: parse whole. */
  private scoped(scope: KubeconfigScope): Plain | undefined {
    if (!this.layout) return undefined;
    const value = parseSimpleYaml(scopedText(this.layout, scope));
    if (value === undefined) return undefined;
    checkPlainKubeconfig(value, this.path);
    return isPlain(value) ? value : {};
  }

  topLevel(): Plain {
    this.top ??= this.scoped({}) ?? this.all();
    return this.top;
  }

  get currentContext(): string | undefined {
    const value = this.topLevel()['current-context'];
    return typeof value === 'string' && value !== '' ? value : undefined;
  }

  /** Throws (exit 8) when one of the items `scope` names is malformed, as the write would. */
  check(scope?: KubeconfigScope): void {
    if (!scope || !this.scoped(scope)) this.all();
  }

  /** The named item's inner object (`cluster` / `user` / `context`) as plain data. */
  find(section: KubeconfigSection, name: string): Plain | undefined {
    const block = this.layout?.blocks.find((b) => b.key === section);
    // a section in block form answers from its items; anything else from the top level or the whole file
    const doc = block?.items ? (block.items.some((i) => i.name === name) ? (this.scoped({ [section]: [name] }) ?? this.all()) : undefined) : this.layout ? this.topLevel() : this.all();
    const list = doc?.[section];
    if (!Array.isArray(list)) return undefined;
    const item: unknown = list.find((i: unknown) => isPlain(i) && i['name'] === name);
    if (!isPlain(item)) return undefined;
    const inner = item[INNER[section]];
    return isPlain(inner) ? inner : {};
  }

  /** Every item of a section (name and inner object), parsing only that section when the layout allows. */
  items(section: KubeconfigSection): { name: string; value: Plain }[] {
    const block = this.layout?.blocks.find((b) => b.key === section);
    const doc = block?.items ? (this.scoped({ [section]: block.items.map((i) => i.name) }) ?? this.all()) : this.layout ? this.topLevel() : this.all();
    const list = doc[section];
    const out: { name: string; value: Plain }[] = [];
    for (const item of Array.isArray(list) ? (list as unknown[]) : []) {
      if (!isPlain(item) || typeof item['name'] !== 'string' || item['name'] === '') continue;
      const inner = item[INNER[section]];
      out.push({ name: item['name'], value: isPlain(inner) ? inner : {} });
    }
    return out;
  }

  /** The names of the items in a section whose name passes `test`. */
  names(section: KubeconfigSection, test: (name: string) => boolean): string[] {
    const block = this.layout?.blocks.find((b) => b.key === section);
    const list = block?.items ? block.items.map((i) => i.name) : ((this.layout ? this.topLevel() : this.all())[section] ?? []);
    return (Array.isArray(list) ? list : []).map((i: unknown) => (typeof i === 'string' ? i : isPlain(i) ? i['name'] : undefined)).filter((n): n is string => typeof n === 'string' && test(n));
  }
}

export function readMergedKubeconfig(paths: readonly string[]): MergedKubeconfig {
  const files = paths.map((p) => KubeconfigFileView.open(p)).filter((f): f is KubeconfigFileView => f !== undefined);
  return {
    paths,
    currentContext: files.map((f) => f.currentContext).find((c) => c !== undefined),
    find(section, name) {
      for (const file of files) {
        const value = file.find(section, name);
        if (value !== undefined) return { path: file.path, value };
      }
      return undefined;
    },
    names(section) {
      return [...new Set(files.flatMap((f) => f.names(section, () => true)))];
    },
  };
}
