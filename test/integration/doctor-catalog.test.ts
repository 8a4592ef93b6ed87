// Issue 17, point 6: doctor without a catalog. When the catalog file does not exist, doctor says
// so (not "the catalog is the file …") and how to create one, pass --catalog or point at Vault
// (VAULT_ADDR); and with no catalog chosen it uses the catalog the kubeconfig's exec user names
// (`--catalog` in the args `login --exec` wrote). Real CLI, real test provider (password grant).
import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import type { DoctorCheck, DoctorReportData } from '../support/doctor-fixture.js';
import { runCli } from '../support/run-cli.js';

const JANE = { login: 'jane@example.com', password: 'jane-password' };

describe('doctor and the catalog file', () => {
  let fx: CredentialFixture;
  let defaultCatalog: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    // HOME is the fixture's: the default catalog would be here, and it does not exist
    defaultCatalog = join(fx.home, '.config', 'k8s-auth', 'clusters.yaml');
  });
  afterAll(async () => {
    await fx?.close();
  });

  /** doctor with no --catalog, K8S_AUTH_CATALOG or VAULT_ADDR. */
  async function doctor(kubeconfig: string, ...extra: string[]): Promise<{ code: number | null; checks: Record<string, DoctorCheck>; stderr: string }> {
    const run = await runCli(['doctor', '--kubeconfig', kubeconfig, '--token-cache-dir', fx.cacheDir, '-o', 'json', ...extra], fx.env({ K8S_AUTH_CATALOG: undefined }));
    const report = JSON.parse(run.stdout) as DoctorReportData;
    return { code: run.code, checks: Object.fromEntries(report.checks.map((c) => [c.id, c])), stderr: run.stderr };
  }

  it('says the default catalog file is missing and how to create one or point at Vault', async () => {
    expect(existsSync(defaultCatalog)).toBe(false);
    const { code, checks } = await doctor(join(fx.dir, 'no-kubeconfig'));
    expect(code).toBe(12);
    expect(checks['catalog']?.verdict).toBe('fail');
    expect(checks['catalog']?.detail).toBe(`the catalog file ${defaultCatalog} does not exist (the default: no --catalog, K8S_AUTH_CATALOG or VAULT_ADDR names another catalog)`);
    expect(checks['catalog']?.fix).toContain(`create ${defaultCatalog} with your clusters (docs/configuration.md shows one)`);
    expect(checks['catalog']?.fix).toContain('pass --catalog FILE');
    expect(checks['catalog']?.fix).toContain('export VAULT_ADDR=');
    expect(checks['catalog']?.fix).not.toContain('k8s-auth clusters');
    expect(checks['vault']?.verdict).toBe('skip');
    expect(checks['vault']?.detail).toBe(`VAULT_ADDR is not set, so Vault is not used (the catalog would be the file ${defaultCatalog}, which does not exist)`);
  });

  it('uses the catalog that the exec user of the kubeconfig names, and says when that file is gone', async () => {
    const kubeconfig = join(fx.dir, 'kc-exec');
    const signedIn = await runCli(
      ['login', 'dev', '--exec', '--grant', 'password', '--username', JANE.login, '--kubeconfig', kubeconfig, '--catalog', fx.catalogFile, '--token-cache-dir', fx.cacheDir],
      fx.env({ K8S_AUTH_PASSWORD: JANE.password }),
    );
    expect(signedIn.code, signedIn.stderr).toBe(0);

    const { checks } = await doctor(kubeconfig);
    expect(checks['catalog']?.verdict, checks['catalog']?.detail).toBe('pass');
    expect(checks['catalog']?.detail).toContain(`'dev' in ${fx.catalogFile}: server https://127.0.0.1:6443, issuer ${fx.op.issuer}`);
    expect(checks['vault']?.detail).toBe(`the catalog is the file ${fx.catalogFile}; Vault is not used`);
    // the catalog entry was found, so the provider was checked against it
    expect(checks['provider']?.verdict).toBe('pass');

    // an explicit --catalog still wins over the one the exec user names
    const explicit = await doctor(kubeconfig, '--catalog', join(fx.dir, 'elsewhere.yaml'));
    expect(explicit.checks['catalog']?.detail).toBe(`the catalog file ${join(fx.dir, 'elsewhere.yaml')} does not exist`);

    renameSync(fx.catalogFile, `${fx.catalogFile}.moved`);
    try {
      const gone = await doctor(kubeconfig);
      expect(gone.code).toBe(12);
      expect(gone.checks['catalog']?.verdict).toBe('fail');
      expect(gone.checks['catalog']?.detail).toBe(`the catalog file ${fx.catalogFile} does not exist`);
      expect(gone.checks['catalog']?.fix).toContain('VAULT_ADDR');
    } finally {
      renameSync(`${fx.catalogFile}.moved`, fx.catalogFile);
    }
  });
});
