// K8S_AUTH_CLUSTER meant two things (issue 13): a catalog entry for `rbac apply`/`plan`, a
// kubeconfig context for `token`. Each has its own variable now (K8S_AUTH_CATALOG_ENTRY,
// K8S_AUTH_CONTEXT); the old one still works where neither the flag nor the new variable is
// given, with one deprecation line naming the replacement. Everything here fails before any
// request (a context that does not exist; nothing listens at the kubeconfig's server).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, runCli } from '../support/run-cli.js';

describe('K8S_AUTH_CLUSTER, K8S_AUTH_CONTEXT and K8S_AUTH_CATALOG_ENTRY', () => {
  let dir: string;
  let kubeconfig: string;
  let catalog: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-cluster-env-'));
    kubeconfig = join(dir, 'kubeconfig');
    catalog = join(dir, 'clusters.yaml');
    await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters:\n- name: c1\n  cluster: {server: "https://127.0.0.1:9"}\nusers:\n- name: u1\n  user: {token: not-a-real-token}\ncontexts:\n- name: ctx1\n  context: {cluster: c1, user: u1}\ncurrent-context: ctx1\n');
    await writeFile(catalog, 'clusters:\n  prod:\n    server: https://127.0.0.1:9\n    issuer-url: https://127.0.0.1:9/dex\n    client-id: k8s-auth\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const token = (env: Record<string, string>) => runCli(['token', '--ttl', '1h', '--kubeconfig', kubeconfig, '-o', 'json'], cleanEnv({ HOME: dir, ...env }));
  const noContext = (name: string) => `error: no context or cluster named '${name}' in ${kubeconfig} (contexts: ctx1): run \`k8s-auth login ${name}\` or pass --context with one of them\n`;

  it('token: K8S_AUTH_CONTEXT names the kubeconfig context, without a note', async () => {
    const run = await token({ K8S_AUTH_CONTEXT: 'nosuch' });
    expect(run.code).toBe(8);
    expect(run.stderr).toBe(noContext('nosuch'));
  });

  it('token: K8S_AUTH_CLUSTER still works, with one deprecation line', async () => {
    const run = await token({ K8S_AUTH_CLUSTER: 'nosuch' });
    expect(run.code).toBe(8);
    expect(run.stderr).toBe(`warning: K8S_AUTH_CLUSTER is deprecated: for token it names a kubeconfig context; set K8S_AUTH_CONTEXT instead\n${noContext('nosuch')}`);
  });

  it('token: the new variable wins over the old one, and a flag over both (no note)', async () => {
    const both = await token({ K8S_AUTH_CONTEXT: 'new-name', K8S_AUTH_CLUSTER: 'old-name' });
    expect(both.stderr).toBe(noContext('new-name'));
    const flag = await runCli(['token', '--ttl', '1h', '--kubeconfig', kubeconfig, '-o', 'json', '--cluster', 'flag-name'], cleanEnv({ HOME: dir, K8S_AUTH_CONTEXT: 'new-name', K8S_AUTH_CLUSTER: 'old-name' }));
    expect(flag.stderr).toBe(`warning: token --cluster is deprecated: write \`k8s-auth token flag-name\` (a cluster) or \`--context flag-name\` (a kubeconfig context)\n${noContext('flag-name')}`);
  });

  it('rbac plan: K8S_AUTH_CATALOG_ENTRY names the catalog entry; K8S_AUTH_CLUSTER still does, with the note for this command', async () => {
    const tokenFile = join(dir, 'id-token');
    await writeFile(tokenFile, 'x.y.z');
    const args = ['rbac', 'plan', '--id-token', tokenFile, '--catalog', catalog, '--kubeconfig', kubeconfig, '--issuer-url', 'https://127.0.0.1:9/dex', '--client-id', 'k8s-auth'];
    const renamed = await runCli(args, cleanEnv({ HOME: dir, K8S_AUTH_CATALOG_ENTRY: 'prod' }));
    expect(renamed.code).toBe(2);
    expect(renamed.stderr).toBe('error: --cluster (from K8S_AUTH_CATALOG_ENTRY) and --issuer-url/--client-id both name the issuer: use one (unset K8S_AUTH_CATALOG_ENTRY if it was meant for another command)\n');
    const old = await runCli(args, cleanEnv({ HOME: dir, K8S_AUTH_CLUSTER: 'prod' }));
    expect(old.code).toBe(2);
    expect(old.stderr.split('\n')[0]).toBe('warning: K8S_AUTH_CLUSTER is deprecated: for rbac plan it names a catalog entry; set K8S_AUTH_CATALOG_ENTRY instead');
    // a K8S_AUTH_CONTEXT meant for token is not read by rbac
    const forToken = await runCli(args, cleanEnv({ HOME: dir, K8S_AUTH_CONTEXT: 'prod' }));
    expect(forToken.stderr).not.toContain('--cluster');
  });
});
