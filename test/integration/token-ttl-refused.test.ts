// `k8s-auth token` (dist build) when the lifetime asked for is refused: the Kubernetes API double
// answering the TokenRequest with a 400/422 Status about the expiration (exit 9, one line,
// "ask for a shorter --ttl", as docs/token.md says). Through Vault there is no such refusal: real
// OpenBao caps a ttl above the role's token_max_ttl (and the mount's max) with a warning, which
// test/cluster/token-via-openbao.test.ts proves end to end; the wording of a 400 about the ttl is
// a unit test (test/unit/vault-error-detail.test.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startKubeApiDouble, type KubeApiDouble } from '../support/kube-api-double.js';
import { cleanEnv, runCli } from '../support/run-cli.js';
import { repoRoot, skipUnless } from '../support/skip.js';

const built = existsSync(join(repoRoot, 'dist', 'cli.js'));

describe.skipIf(skipUnless(built, 'dist/ is not built: run `npm run build` first'))('token lifetimes the server refuses', () => {
  let kube: KubeApiDouble;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const tokenPosts = () => kube.requests.filter((r) => r.method === 'POST' && r.resource === 'serviceaccounts/token');

  beforeAll(async () => {
    kube = await startKubeApiDouble();
    dir = await mkdtemp(join(tmpdir(), 'k8s-auth-token-ttl-'));
    kube.seed('namespaces', { metadata: { name: 'ci' } });
    kube.seed('serviceaccounts', { metadata: { name: 'deployer', namespace: 'ci' } });
  });
  afterAll(async () => {
    await kube?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    kube.clearFaults();
    kube.resetRecords();
    env = cleanEnv({ HOME: dir, KUBECONFIG: kube.kubeconfigPath });
  });

  // Status bodies shaped as kube-apiserver's validation errors, from a server stricter than the
  // API's own limits (e.g. an admission policy capping token lifetimes at a day)
  const invalid = 'TokenRequest.authentication.k8s.io "deployer" is invalid: spec.expirationSeconds: Invalid value: 2592000: may not specify a duration larger than 24h0m0s';
  it.each([
    [422, invalid],
    [400, 'spec.expirationSeconds: requested expiration of 2592000 seconds is longer than the maximum allowed'],
  ])('a %i refusal about the expiration is one line naming the ServiceAccount and asking for a shorter --ttl (exit 9)', async (status, message) => {
    kube.addFault({ kind: 'error', status, message, verb: 'create', resource: 'serviceaccounts/token' });
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '30d', '-o', 'json'], env);
    expect(run.code).toBe(9);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`error: the API server refused the token lifetime for ServiceAccount ci/deployer (${message}): ask for a shorter --ttl\n`);
    // asked once with the lifetime given, and not retried (a refusal is not a transient failure)
    expect(tokenPosts().map((r) => [r.status, (r.body as { spec: { expirationSeconds: number } }).spec.expirationSeconds])).toEqual([[status, 30 * 86_400]]);
  });

  it('a 422 about something other than the expiration does not blame the --ttl', async () => {
    kube.addFault({ kind: 'error', status: 422, message: 'TokenRequest.authentication.k8s.io "deployer" is invalid: spec.audiences: Invalid value', verb: 'create', resource: 'serviceaccounts/token' });
    const run = await runCli(['token', '--service-account', 'deployer', '-n', 'ci', '--ttl', '1h', '-o', 'json'], env);
    expect(run.code).toBe(9);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).not.toContain('--ttl');
    expect(run.stderr).toMatch(/^error: the API server rejected .* as invalid/);
  });
});
