// KV secrets engine (v1 and v2) of the Vault double, following Vault's documented HTTP API:
// v2 read GET <mount>/data/<path> (data.data + data.metadata), list LIST or GET ?list=true on
// <mount>/metadata/<path> (data.keys, folders end in "/"), 404 {"errors":[]} when absent, and
// 404 with a warning for v1-style paths on a v2 mount; v1 read/list on <mount>/<path>.

export interface KvVersion {
  data: Record<string, unknown>;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

export interface KvEntry {
  versions: KvVersion[];
  customMetadata: Record<string, string> | null;
  createdTime: string;
  updatedTime: string;
}

export interface KvMount {
  type: 'kv';
  version: 1 | 2;
  accessor: string;
  uuid: string;
  entries: Map<string, KvEntry>;
}

export type KvOperation = 'read' | 'list' | 'write' | 'delete';

/** status + JSON body; `envelope` data goes into Vault's standard response envelope. */
export type VaultReply =
  | { status: number; errors: string[] }
  | { status: number; envelope: { data: unknown; warnings?: string[] | null; lease_id?: string; lease_duration?: number; renewable?: boolean } }
  | { status: 204 };

const NOT_FOUND: VaultReply = { status: 404, errors: [] };
const UNSUPPORTED: VaultReply = { status: 405, errors: ['1 error occurred:\n\t* unsupported operation\n\n'] };
/** Vault's default lease TTL (768h), which KV v1 reports as lease_duration. */
export const DEFAULT_LEASE_TTL_SECONDS = 768 * 3600;

export function normalizeKvPath(path: string): string {
  return path.replace(/^\/+|\/+$/g, '').replace(/\/{2,}/g, '/');
}

export function putKvEntry(mount: KvMount, path: string, data: Record<string, unknown>, customMetadata?: Record<string, string>): KvVersion {
  const key = normalizeKvPath(path);
  const now = new Date().toISOString();
  const entry = mount.entries.get(key) ?? { versions: [], customMetadata: null, createdTime: now, updatedTime: now };
  const version: KvVersion = { data: structuredClone(data), createdTime: now, deletionTime: '', destroyed: false };
  entry.versions.push(version);
  entry.updatedTime = now;
  if (customMetadata) entry.customMetadata = { ...customMetadata };
  mount.entries.set(key, entry);
  return version;
}

function versionMetadata(entry: KvEntry, index: number): Record<string, unknown> {
  const v = entry.versions[index] as KvVersion;
  return {
    created_time: v.createdTime,
    custom_metadata: entry.customMetadata,
    deletion_time: v.deletionTime,
    destroyed: v.destroyed,
    version: index + 1,
  };
}

/** Keys directly under `prefix` (a folder path, '' for the mount root); folders end in '/'. */
export function listKeys(paths: Iterable<string>, prefix: string): string[] {
  const folder = normalizeKvPath(prefix);
  const base = folder === '' ? '' : `${folder}/`;
  const keys = new Set<string>();
  for (const p of paths) {
    if (!p.startsWith(base) || p === folder) continue;
    const rest = p.slice(base.length);
    const slash = rest.indexOf('/');
    keys.add(slash === -1 ? rest : rest.slice(0, slash + 1));
  }
  return [...keys].sort();
}

function liveEntryPaths(mount: KvMount): string[] {
  return [...mount.entries.keys()];
}

function v2InvalidPath(op: KvOperation): VaultReply {
  const verb = { read: 'get', list: 'list', write: 'put', delete: 'delete' }[op];
  return {
    status: 404,
    envelope: {
      data: null,
      warnings: [
        `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${verb}' for this operation.`,
      ],
    },
  };
}

export function handleKv(
  mount: KvMount,
  rest: string,
  op: KvOperation,
  query: URLSearchParams,
  body: Record<string, unknown> | undefined,
): VaultReply {
  return mount.version === 2 ? handleKv2(mount, rest, op, query, body) : handleKv1(mount, rest, op, body);
}

function handleKv1(mount: KvMount, rest: string, op: KvOperation, body: Record<string, unknown> | undefined): VaultReply {
  const key = normalizeKvPath(rest);
  switch (op) {
    case 'list': {
      const keys = listKeys(liveEntryPaths(mount), key);
      return keys.length === 0 ? NOT_FOUND : { status: 200, envelope: { data: { keys } } };
    }
    case 'read': {
      const entry = mount.entries.get(key);
      const latest = entry?.versions.at(-1);
      if (!latest || latest.deletionTime !== '') return NOT_FOUND;
      return { status: 200, envelope: { data: structuredClone(latest.data), lease_duration: DEFAULT_LEASE_TTL_SECONDS } };
    }
    case 'write':
      if (key === '') return UNSUPPORTED;
      mount.entries.delete(key);
      putKvEntry(mount, key, body ?? {});
      return { status: 204 };
    case 'delete':
      mount.entries.delete(key);
      return { status: 204 };
  }
}

function handleKv2(
  mount: KvMount,
  rest: string,
  op: KvOperation,
  query: URLSearchParams,
  body: Record<string, unknown> | undefined,
): VaultReply {
  const clean = normalizeKvPath(rest);
  const [section, ...tail] = clean.split('/');
  const key = tail.join('/');
  if (section === 'config' && tail.length === 0 && op === 'read') {
    return { status: 200, envelope: { data: { cas_required: false, delete_version_after: '0s', max_versions: 0 } } };
  }
  if (section === 'data') {
    const entry = mount.entries.get(key);
    if (op === 'read') {
      if (!entry || entry.versions.length === 0) return NOT_FOUND;
      const wanted = Number(query.get('version') ?? '0');
      const index = wanted > 0 ? wanted - 1 : entry.versions.length - 1;
      const v = entry.versions[index];
      if (!v) return NOT_FOUND;
      const metadata = versionMetadata(entry, index);
      // a deleted or destroyed version: 404 with the envelope and data null
      if (v.deletionTime !== '' || v.destroyed) return { status: 404, envelope: { data: { data: null, metadata } } };
      return { status: 200, envelope: { data: { data: structuredClone(v.data), metadata } } };
    }
    if (op === 'write') {
      const data = body?.data;
      if (key === '' || typeof data !== 'object' || data === null || Array.isArray(data)) {
        return { status: 400, errors: ['no data provided'] };
      }
      putKvEntry(mount, key, data as Record<string, unknown>);
      const written = mount.entries.get(key) as KvEntry;
      return { status: 200, envelope: { data: versionMetadata(written, written.versions.length - 1) } };
    }
    if (op === 'delete') {
      const latest = entry?.versions.at(-1);
      if (latest && latest.deletionTime === '') latest.deletionTime = new Date().toISOString();
      return { status: 204 };
    }
    return UNSUPPORTED;
  }
  if (section === 'metadata') {
    if (op === 'list') {
      const keys = listKeys(liveEntryPaths(mount), key);
      return keys.length === 0 ? NOT_FOUND : { status: 200, envelope: { data: { keys } } };
    }
    if (op === 'read') {
      const entry = mount.entries.get(key);
      if (!entry) return NOT_FOUND;
      const versions: Record<string, unknown> = {};
      entry.versions.forEach((v, i) => {
        versions[String(i + 1)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed };
      });
      return {
        status: 200,
        envelope: {
          data: {
            cas_required: false,
            created_time: entry.createdTime,
            current_version: entry.versions.length,
            custom_metadata: entry.customMetadata,
            delete_version_after: '0s',
            max_versions: 0,
            oldest_version: 0,
            updated_time: entry.updatedTime,
            versions,
          },
        },
      };
    }
    if (op === 'delete') {
      mount.entries.delete(key);
      return { status: 204 };
    }
    return UNSUPPORTED;
  }
  return v2InvalidPath(op);
}
