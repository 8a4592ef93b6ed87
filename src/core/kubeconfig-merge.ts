import { Document, YAMLMap, YAMLSeq, isMap, isScalar, isSeq } from 'yaml';
import { CliError, ExitCode } from '../errors.js';
import { invalidKubeconfigYaml } from './kubeconfig-shape.js';

/**
 * Pure edits of a kubeconfig held as a yaml Document, so everything we don't touch (other
 * clusters, users, contexts, preferences, extensions, comments) stays as it was. The named-list
 * shape is kubectl's: `clusters: [{name, cluster: {...}}]`, same for `users` / `contexts`.
 */
export type KubeconfigSection = 'clusters' | 'users' | 'contexts';

const INNER_KEY: Record<KubeconfigSection, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };

export interface ClusterFields {
  server: string;
  /** base64 PEM, as in the catalog */
  caData?: string;
}

export interface ContextFields {
  cluster: string;
  user: string;
  namespace?: string;
}

/** A brand-new kubeconfig, as kubectl would start one. */
export function emptyKubeconfig(): Document {
  return new Document({ apiVersion: 'v1', kind: 'Config', clusters: [], contexts: [], users: [], preferences: {} });
}

/**
 * Checks a parsed kubeconfig: an empty document becomes a fresh one; a non-mapping root, or a
 * section that is not a list, is a one-line KUBECONFIG error (we never rewrite what we can't read).
 */
export function checkKubeconfig(doc: Document, source: string): void {
  if (doc.errors.length > 0) throw invalidKubeconfigYaml(source, doc.errors[0]?.message ?? 'parse error');
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    doc.contents = emptyKubeconfig().contents;
    return;
  }
  if (!isMap(doc.contents)) throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source} is not a mapping (kind: Config): fix or move it, nothing was written`);
  for (const section of ['clusters', 'users', 'contexts'] as const) {
    const value = doc.contents.get(section, true);
    if (value === undefined || value === null || (isScalar(value) && value.value === null)) continue;
    if (!isSeq(value)) throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source}: '${section}' must be a list: fix or move it, nothing was written`);
  }
  const current = doc.contents.get('current-context', true);
  if (current !== undefined && current !== null && !(isScalar(current) && (current.value === null || typeof current.value === 'string'))) {
    throw new CliError(ExitCode.KUBECONFIG, `kubeconfig ${source}: 'current-context' must be a string: fix or move it, nothing was written`);
  }
}

function root(doc: Document): YAMLMap {
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) doc.contents = emptyKubeconfig().contents;
  if (!isMap(doc.contents)) throw new CliError(ExitCode.KUBECONFIG, 'kubeconfig is not a mapping (kind: Config)');
  return doc.contents;
}

function sectionOf(doc: Document, section: KubeconfigSection, create: boolean): YAMLSeq | undefined {
  const map = root(doc);
  const value = map.get(section, true);
  if (isSeq(value)) {
    // `users: []` is a flow list: items we add would be written inline, unlike kubectl
    if (create && value.flow) value.flow = false;
    return value;
  }
  if (!create) return undefined;
  const seq = doc.createNode([]) as YAMLSeq;
  map.set(section, seq);
  return seq;
}

function itemName(item: unknown): string | undefined {
  if (!isMap(item)) return undefined;
  const name = item.get('name');
  return typeof name === 'string' ? name : undefined;
}

/** The `{name, cluster|user|context}` item, as a node to edit. */
export function findNamed(doc: Document, section: KubeconfigSection, name: string): YAMLMap | undefined {
  const seq = sectionOf(doc, section, false);
  return seq?.items.find((item) => itemName(item) === name) as YAMLMap | undefined;
}

export function hasNamed(doc: Document, section: KubeconfigSection, name: string): boolean {
  return findNamed(doc, section, name) !== undefined;
}

/** The inner object (`cluster` / `user` / `context`) as plain data. */
export function readNamed(doc: Document, section: KubeconfigSection, name: string): Record<string, unknown> | undefined {
  const item = findNamed(doc, section, name);
  const inner = item?.get(INNER_KEY[section], true);
  if (!isMap(inner)) return item ? {} : undefined;
  return inner.toJSON() as Record<string, unknown>;
}

export function namesIn(doc: Document, section: KubeconfigSection): string[] {
  return (sectionOf(doc, section, false)?.items ?? []).map(itemName).filter((n): n is string => n !== undefined);
}

function innerMap(doc: Document, section: KubeconfigSection, name: string): YAMLMap {
  const seq = sectionOf(doc, section, true) as YAMLSeq;
  let item = findNamed(doc, section, name);
  if (!item) {
    item = doc.createNode({ name, [INNER_KEY[section]]: {} }) as YAMLMap;
    seq.items.push(item);
  }
  const inner: unknown = item.get(INNER_KEY[section], true);
  if (isMap(inner)) {
    if (inner.flow) inner.flow = false;
    return inner;
  }
  const fresh = doc.createNode({}) as YAMLMap;
  item.set(INNER_KEY[section], fresh);
  return fresh;
}

/**
 * Sets server and CA data; other keys a user added (proxy-url, tls-server-name, extensions)
 * stay. A file path `certificate-authority` would conflict with the data, so it goes.
 */
export function setCluster(doc: Document, name: string, fields: ClusterFields): void {
  const cluster = innerMap(doc, 'clusters', name);
  cluster.set('server', fields.server);
  if (fields.caData) {
    cluster.set('certificate-authority-data', fields.caData);
    cluster.delete('certificate-authority');
  } else {
    cluster.delete('certificate-authority-data');
  }
}

/** Replaces the user's credentials as a whole: a switch from auth-provider to exec must not leave both. */
export function setUser(doc: Document, name: string, user: Record<string, unknown>): void {
  const seq = sectionOf(doc, 'users', true) as YAMLSeq;
  const item = findNamed(doc, 'users', name);
  const node = doc.createNode(user);
  if (item) item.set('user', node);
  else seq.items.push(doc.createNode({ name, user }));
}

/** A namespace the user chose earlier (`kubectl config set-context --namespace`) stays unless the entry sets one. */
export function setContext(doc: Document, name: string, fields: ContextFields): void {
  const context = innerMap(doc, 'contexts', name);
  context.set('cluster', fields.cluster);
  context.set('user', fields.user);
  if (fields.namespace) context.set('namespace', fields.namespace);
}

export function setCurrentContext(doc: Document, name: string): void {
  root(doc).set('current-context', name);
}

export function getCurrentContext(doc: Document): string | undefined {
  if (!isMap(doc.contents)) return undefined;
  const value = doc.contents.get('current-context');
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function removeNamed(doc: Document, section: KubeconfigSection, name: string): boolean {
  const seq = sectionOf(doc, section, false);
  if (!seq) return false;
  const index = seq.items.findIndex((item) => itemName(item) === name);
  if (index === -1) return false;
  seq.items.splice(index, 1);
  return true;
}

export interface OidcUserFields {
  issuerUrl: string;
  clientId: string;
  clientSecret?: string;
  idToken: string;
  refreshToken?: string;
  /** base64 PEM of the provider's CA, so kubectl's refresh trusts a private CA. */
  idpCaData?: string;
}

/** The legacy `auth-provider: oidc` user that kubectl refreshes by itself (client-go's oidc plugin keys). */
export function oidcAuthProviderUser(fields: OidcUserFields): Record<string, unknown> {
  const config: Record<string, string> = { 'idp-issuer-url': fields.issuerUrl, 'client-id': fields.clientId };
  if (fields.clientSecret) config['client-secret'] = fields.clientSecret;
  config['id-token'] = fields.idToken;
  if (fields.refreshToken) config['refresh-token'] = fields.refreshToken;
  if (fields.idpCaData) config['idp-certificate-authority-data'] = fields.idpCaData;
  return { 'auth-provider': { name: 'oidc', config } };
}

/** Drops id-token and refresh-token from an oidc auth-provider user; says whether there were any. */
export function clearOidcTokens(doc: Document, userName: string): boolean {
  const item = findNamed(doc, 'users', userName);
  const config = item?.getIn(['user', 'auth-provider', 'config'], true);
  if (!isMap(config)) return false;
  const had = config.has('id-token') || config.has('refresh-token');
  config.delete('id-token');
  config.delete('refresh-token');
  return had;
}

/**
 * Writes a renewed id-token (and the refresh token, rotated or not) into an oidc auth-provider
 * user, as kubectl's oidc plugin persists them, but only while the file still holds the refresh
 * token the renewal used: when another process renewed meanwhile, its tokens stay. Says whether
 * it wrote.
 */
export function setOidcTokens(doc: Document, userName: string, tokens: { idToken: string; refreshToken: string }, usedRefreshToken: string): boolean {
  const item = findNamed(doc, 'users', userName);
  const config = item?.getIn(['user', 'auth-provider', 'config'], true);
  if (!isMap(config) || config.get('refresh-token') !== usedRefreshToken) return false;
  config.set('id-token', tokens.idToken);
  config.set('refresh-token', tokens.refreshToken);
  return true;
}

/**
 * Serialises in kubectl's style (list items not indented under their key) unless the file
 * already indents them; never folds long lines (tokens and CA data stay on one line).
 */
export function renderKubeconfig(doc: Document, originalText = ''): string {
  const indentSeq = /^(clusters|contexts|users):[^\S\n]*\n[^\S\n]+- /m.test(originalText);
  return doc.toString({ lineWidth: 0, indentSeq });
}
