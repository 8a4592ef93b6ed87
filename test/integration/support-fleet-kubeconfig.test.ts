import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readKubeconfigNames } from '../../src/adapters/kubeconfig-contexts.js';
import { writeFleetKubeconfig } from '../support/fleet-kubeconfig.js';

describe('writeFleetKubeconfig', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-fleet-kc-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes every cluster name on the one server, one admin user, the contexts asked for, mode 0600', async () => {
    const path = join(dir, 'kubeconfig');
    const cluster = { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Q0E=' };
    await writeFleetKubeconfig(path, { cluster, user: { token: 'admin-token' }, clusters: ['a', 'b'], contexts: { 'a-admin': 'a', b: 'b' }, current: 'b' });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const names = await readKubeconfigNames(path, {});
    expect(names).toEqual({ clusters: ['a', 'b'], contexts: [{ name: 'a-admin', cluster: 'a' }, { name: 'b', cluster: 'b' }], current: 'b' });
    const written = parse(await readFile(path, 'utf8')) as { clusters: { cluster: unknown }[]; users: { name: string; user: unknown }[]; contexts: { context: { user: string } }[] };
    expect(written.clusters.map((c) => c.cluster)).toEqual([cluster, cluster]);
    expect(written.users).toEqual([{ name: 'admin', user: { token: 'admin-token' } }]);
    expect(written.contexts.every((c) => c.context.user === 'admin')).toBe(true);
  });

  it('leaves current-context out unless asked', async () => {
    const path = join(dir, 'no-current');
    await writeFleetKubeconfig(path, { cluster: { server: 'https://127.0.0.1:6443' }, user: {}, clusters: ['a'], contexts: { a: 'a' } });
    expect((await readKubeconfigNames(path, {})).current).toBeUndefined();
  });
});
