// Issue 17, point 2: `login` keeps the form a kubeconfig user already has (an exec plugin user
// stays one, with its arguments; an auth-provider user stays one) unless --exec / --no-exec says
// otherwise, says on stderr when the form changes, and logout's and whoami's hints name the
// command that restores the current form. The real CLI against the real test provider
// (password grant, so no browser is needed).
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCredentialFixture, type CredentialFixture } from '../support/credential-fixture.js';
import { runCli } from '../support/run-cli.js';

const JANE = { login: 'jane@example.com', password: 'jane-password' };

interface UserEntry {
  name: string;
  user: { exec?: { command: string; apiVersion: string; args: string[] }; 'auth-provider'?: { name: string; config: Record<string, string> } };
}

describe('login keeps the form of the user', () => {
  let fx: CredentialFixture;
  let kubeconfig: string;

  beforeAll(async () => {
    fx = await startCredentialFixture();
    kubeconfig = `${fx.dir}/kubeconfig`;
  });
  afterAll(async () => {
    await fx?.close();
  });

  const login = (...extra: string[]) =>
    runCli(['login', 'dev', '--grant', 'password', '--username', JANE.login, '--kubeconfig', kubeconfig, '--catalog', fx.catalogFile, ...extra], fx.env({ K8S_AUTH_PASSWORD: JANE.password }));
  const user = (): UserEntry['user'] => {
    const users = (parse(readFileSync(kubeconfig, 'utf8')) as { users: UserEntry[] }).users;
    const found = users.find((u) => u.name === 'jane@example.com@dev');
    expect(found, readFileSync(kubeconfig, 'utf8')).toBeDefined();
    return (found as UserEntry).user;
  };

  it('an exec user stays exec, with its arguments, through logout and a plain `login`', async () => {
    const first = await login('--exec', '--exec-api-version', 'v1beta1', '--token-cache-dir', fx.cacheDir, '--timeout', '120.5');
    expect(first.code, first.stderr).toBe(0);
    const written = user().exec;
    expect(written?.args).toContain(fx.cacheDir);
    expect(written?.args.join(' ')).toContain(`--catalog ${fx.catalogFile}`);
    // issue 19: the typed --timeout is written back in a form credential accepts
    expect(written?.args.join(' ')).toContain('--timeout 120.5');

    const out = await runCli(['logout', 'dev', '--kubeconfig', kubeconfig], fx.env());
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toContain('sign in again with `k8s-auth login dev --exec`');
    const who = await runCli(['whoami', 'dev', '--kubeconfig', kubeconfig], fx.env());
    expect(who.stderr).toContain('run `k8s-auth login dev --exec`');
    expect(who.stderr).not.toMatch(/k8s-auth login dev`/);

    // a cache miss runs the written exec args as kubectl would: no usage error (exit 2) from --timeout 120.5
    const miss = await runCli((written?.args ?? []).slice(written?.command === process.execPath ? 1 : 0), fx.env({ K8S_AUTH_PASSWORD: JANE.password }));
    expect(miss.code, miss.stderr).toBe(0);
    expect((JSON.parse(miss.stdout) as { status: { token: string } }).status.token).toMatch(/^ey/);
    await runCli(['logout', 'dev', '--kubeconfig', kubeconfig], fx.env());

    // exactly what a person would type without --exec: the user stays an exec plugin user
    const again = await login();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('changes from');
    expect(again.stderr).toContain(`cached in ${fx.cacheFile(JANE.login)}`);
    const kept = user();
    expect(kept['auth-provider']).toBeUndefined();
    expect(kept.exec).toEqual(written);
    expect(readFileSync(kubeconfig, 'utf8')).not.toContain('refresh-token');
    const whoNow = await runCli(['whoami', 'dev', '--kubeconfig', kubeconfig, '-o', 'json'], fx.env());
    expect(whoNow.code, whoNow.stderr).toBe(0);
    expect((JSON.parse(whoNow.stdout) as { email: string }).email).toBe(JANE.login);
  });

  it('--no-exec changes it to auth-provider and says so; a plain login then keeps auth-provider; --exec changes it back and says so', async () => {
    const change = await login('--no-exec');
    expect(change.code, change.stderr).toBe(0);
    expect(change.stderr).toContain(`context dev: the user jane@example.com@dev changes from an exec plugin user (\`k8s-auth credential\`, tokens in the token cache) to auth-provider: oidc (the refresh token goes into ${kubeconfig}), as --no-exec asks`);
    expect(user().exec).toBeUndefined();
    expect(user()['auth-provider']?.name).toBe('oidc');

    const plain = await login('--timeout', '2m');
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).not.toContain('changes from');
    expect(user()['auth-provider']?.name).toBe('oidc');
    const out = await runCli(['logout', 'dev', '--kubeconfig', kubeconfig], fx.env());
    expect(out.stderr).toContain('sign in again with `k8s-auth login dev`');
    expect(out.stderr).not.toContain('--exec');

    const back = await login('--exec', '--token-cache-dir', fx.cacheDir);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stderr).toContain(`context dev: the user jane@example.com@dev changes from auth-provider: oidc (tokens in ${kubeconfig}) to an exec plugin user`);
    expect(user().exec?.command).toBe('k8s-auth');
    expect(readFileSync(kubeconfig, 'utf8')).not.toContain('refresh-token');
  });

  it("a hint about a broken cluster entry restores the exec user's form (`--exec`), not auth-provider", async () => {
    // after the test above the user is an exec plugin user again; drop its cluster's server
    const config = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string; cluster: Record<string, string> }[] };
    for (const c of config.clusters) delete c.cluster['server'];
    const broken = `${fx.dir}/kubeconfig-no-server`;
    writeFileSync(broken, stringify(config), { mode: 0o600 });
    const who = await runCli(['whoami', 'dev', '--kubeconfig', broken], fx.env());
    expect(who.code).toBe(8);
    expect(who.stderr).toBe(`error: cluster 'dev' of context 'dev' has no server in ${broken}: run \`k8s-auth login dev --exec\` again\n`);
  });
});
