// The CEL claim validation rule of structured authentication, on the current kube-apiserver, and
// `k8s-auth doctor --authentication-config` explaining the rejection. The issuer is oidc-provider
// (test/support/oidc-provider.ts), whose user unverified@example.com has email_verified false and
// which can mint a token without email_verified at all: that token passes the check the server
// applies by itself for `username.claim: email` (absent is allowed) and fails only the CEL rule.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSubjectAccessReview } from '../../cluster/api-client.js';
import { type DoctorReportData } from '../../support/doctor-fixture.js';
import { base64, cleanEnv, tempDir, writeCatalog, type TempDir } from '../../support/login-harness.js';
import { runCli } from '../../support/run-cli.js';
import { skipUnless } from '../../support/skip.js';
import { oidcProviderIssuer, type IssuerUnderTest } from './issuers.js';
import type { TestProvider } from '../../support/oidc-provider.js';
import { currentKubernetesAvailable, currentKubernetesMissing, kubernetesVersion, startCurrentApiServer, waitForJwtAuthenticator, type CurrentApiServer } from './kubernetes.js';

const skip = skipUnless(currentKubernetesAvailable(), currentKubernetesMissing());
const LIST_PODS = { verb: 'list', resource: 'pods', namespace: 'default' };
const CLUSTER = 'current';

describe.skipIf(skip)(`claimValidationRules on kube-apiserver ${kubernetesVersion}, and doctor's explanation`, () => {
  let issuer: IssuerUnderTest & { provider: TestProvider };
  let cp: CurrentApiServer;
  let dir: TempDir;
  let catalog: string;

  const doctor = async (kubeconfig: string, extra: string[] = []): Promise<{ code: number | null; report: DoctorReportData; stderr: string }> => {
    const run = await runCli(['doctor', CLUSTER, '--catalog', catalog, '--kubeconfig', kubeconfig, '-o', 'json', ...extra], cleanEnv({ HOME: dir.path }), { timeoutMs: 60_000 });
    return { code: run.code, report: JSON.parse(run.stdout) as DoctorReportData, stderr: run.stderr };
  };
  const login = async (user: string, password: string): Promise<string> => {
    const kubeconfig = dir.file(`${user}.kubeconfig`);
    const run = await runCli(
      ['login', CLUSTER, '--catalog', catalog, '--kubeconfig', kubeconfig, '--grant', 'password', '--username', user],
      cleanEnv({ HOME: dir.path, K8S_AUTH_PASSWORD: password }),
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    return kubeconfig;
  };

  beforeAll(async () => {
    dir = tempDir('k8s-auth-cel-');
    issuer = await oidcProviderIssuer('oidc', 'oidc:');
    cp = await startCurrentApiServer({ authenticationConfig: [issuer.jwt] });
    catalog = writeCatalog(dir.file('clusters.yaml'), {
      [CLUSTER]: { server: cp.server, 'certificate-authority-data': cp.caData, 'issuer-url': issuer.issuer, 'client-id': issuer.clientId, 'idp-certificate-authority-data': base64(issuer.caPem) },
    });
    await waitForJwtAuthenticator(cp, await issuer.provider.mintIdToken({ email: 'jane@example.com', expiresInSeconds: 600 }));
  }, 300_000);

  afterAll(async () => {
    await cp?.stop();
    await issuer?.stop();
    dir?.remove();
  });

  it('accepts a verified address, rejects email_verified false (401) and a token without email_verified (401, the CEL rule alone)', async () => {
    const jane = await issuer.provider.mintIdToken({ email: 'jane@example.com' });
    expect((await selfSubjectAccessReview(cp, { kind: 'bearer', token: jane }, LIST_PODS)).status).toBe(201);

    const unverified = await issuer.provider.mintIdToken({ email: 'unverified@example.com' });
    const claims = JSON.parse(Buffer.from(unverified.split('.')[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims['email_verified']).toBe(false);
    expect((await selfSubjectAccessReview(cp, { kind: 'bearer', token: unverified }, LIST_PODS)).status).toBe(401);

    const noClaim = await issuer.provider.mintIdToken({ email: 'jane@example.com', extraClaims: { email_verified: undefined } });
    expect(JSON.parse(Buffer.from(noClaim.split('.')[1] as string, 'base64url').toString('utf8'))).not.toHaveProperty('email_verified');
    expect((await selfSubjectAccessReview(cp, { kind: 'bearer', token: noClaim }, LIST_PODS)).status).toBe(401);
    // the server's log names the rule that failed
    expect(readFileSync(cp.apiserverLog, 'utf8')).toContain('claims.email_verified == true');
  });

  it('doctor --authentication-config names the failed rule for a signed-in user whose address is not verified', async () => {
    const kubeconfig = await login('unverified@example.com', 'unverified-password');
    const plain = await doctor(kubeconfig);
    expect(plain.code).toBe(12);
    const api = plain.report.checks.find((c) => c.id === 'api-server');
    expect(api).toMatchObject({ verdict: 'fail', detail: expect.stringContaining('rejected the ID token (401 Unauthorized)') });
    expect(api?.fix).toContain(`with --authentication-config a jwt issuer with url ${issuer.issuer}`);
    expect(plain.report.checks.some((c) => c.id === 'authentication-config')).toBe(false);

    const run = await doctor(kubeconfig, ['--authentication-config', cp.authenticationConfigFile]);
    expect(run.code).toBe(12);
    const verdicts = Object.fromEntries(run.report.checks.map((c) => [c.id, c.verdict]));
    expect(verdicts).toMatchObject({ 'api-server': 'fail', 'authentication-config': 'fail' });
    expect(run.report.checks.find((c) => c.id === 'api-server')?.fix).toBe('see the authentication-config check: it names the rule the token fails');
    const check = run.report.checks.find((c) => c.id === 'authentication-config');
    expect(check?.detail).toContain(`by ${cp.authenticationConfigFile} (issuer ${issuer.issuer}), the API server rejects this token`);
    expect(check?.detail).toContain('claim validation rule `claims.email_verified == true`: email_verified is false; the server\'s message: "the e-mail address must be verified"');
    expect(check?.fix).toContain('verify the e-mail address');
  }, 120_000);

  it("doctor's prediction of a verified user matches what the API server says", async () => {
    const kubeconfig = await login('jane@example.com', 'jane-password');
    const run = await doctor(kubeconfig, ['--authentication-config', cp.authenticationConfigFile]);
    const api = run.report.checks.find((c) => c.id === 'api-server');
    const check = run.report.checks.find((c) => c.id === 'authentication-config');
    expect(api, JSON.stringify(run.report)).toMatchObject({ verdict: 'pass', detail: expect.stringContaining('knows you as oidc:jane@example.com (groups: oidc:developers, system:authenticated)') });
    expect(check).toMatchObject({ verdict: 'pass', detail: expect.stringContaining("user 'oidc:jane@example.com' groups oidc:developers") });
  }, 120_000);

  it('a bad --authentication-config is a usage error (exit 2, one line)', async () => {
    const kubeconfig = dir.file('none.kubeconfig');
    const run = await runCli(['doctor', CLUSTER, '--catalog', catalog, '--kubeconfig', kubeconfig, '--authentication-config', catalog], cleanEnv({ HOME: dir.path }));
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^error: --authentication-config: .*clusters\.yaml is not an AuthenticationConfiguration/);
  });
});
