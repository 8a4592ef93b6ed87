// The cluster tier's standard fixture: the Dex-like test provider, a real control plane whose
// OIDC authenticator trusts it, and a wait until the apiserver accepts the provider's tokens.
import { startTestProvider, type TestProvider } from '../support/oidc-provider.js';
import { startControlPlane, waitForOidcAuthenticator, type ControlPlane, type OidcOptions } from './control-plane.js';

export interface ClusterFixture {
  provider: TestProvider;
  cp: ControlPlane;
  /** milliseconds: control plane start, and the wait for its OIDC authenticator */
  timings: { controlPlaneMs: number; oidcWaitMs: number };
  stop(): Promise<void>;
}

export interface ClusterFixtureOptions {
  provider?: Parameters<typeof startTestProvider>[0];
  /** claims and prefixes for the apiserver's --oidc-* flags (issuer, CA and client id come from the provider) */
  oidc?: Pick<OidcOptions, 'usernameClaim' | 'groupsClaim' | 'usernamePrefix' | 'groupsPrefix'>;
  oidcWaitTimeoutMs?: number;
}

export async function startClusterFixture(opts: ClusterFixtureOptions = {}): Promise<ClusterFixture> {
  const provider = await startTestProvider(opts.provider);
  let cp: ControlPlane | undefined;
  const stop = async (): Promise<void> => {
    try {
      await cp?.stop();
    } finally {
      await provider.close();
    }
  };
  try {
    const t0 = Date.now();
    cp = await startControlPlane({
      oidc: { issuerUrl: provider.issuer, caFile: provider.caFile, clientId: provider.clientId, ...opts.oidc },
    });
    const controlPlaneMs = Date.now() - t0;
    // a token for the provider's first user, audience = the client id the apiserver trusts
    const probe = await provider.mintIdToken({ expiresInSeconds: 600 });
    const oidcWaitMs = await waitForOidcAuthenticator(cp, probe, opts.oidcWaitTimeoutMs ?? 60_000);
    return { provider, cp, timings: { controlPlaneMs, oidcWaitMs }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
