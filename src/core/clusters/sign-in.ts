import type { ClusterEntry } from '../cluster-entry.js';

/**
 * `login --all` / several clusters with `--trusted-client ID` (docs/fleet.md#one-sign-in-for-the-fleet):
 * clusters that share an issuer sign in once as the trusted client, asking Dex for each
 * cluster's client as an audience (`audience:server:client_id:<id>`, cross-client trust), so
 * one ID token is good for every API server of the group. Without a trusted client, one sign-in
 * per distinct (issuer, client).
 */
export const CROSS_CLIENT_SCOPE_PREFIX = 'audience:server:client_id:';

export interface SignInPlan {
  issuerUrl: string;
  /** the client that signs in: the trusted client, or the clusters' own */
  clientId: string;
  /** the trusted client signs in; its ID token's aud must hold every entry's client-id */
  trusted: boolean;
  /** the cross-client scopes to ask for (empty unless trusted) */
  audienceScopes: string[];
  entries: ClusterEntry[];
}

export function planSignIns(entries: readonly ClusterEntry[], trustedClient?: string): SignInPlan[] {
  const plans = new Map<string, SignInPlan>();
  for (const entry of entries) {
    const trusted = trustedClient !== undefined && trustedClient !== '';
    const key = trusted ? entry.issuerUrl : `${entry.issuerUrl}\u0000${entry.clientId}`;
    const plan = plans.get(key) ?? { issuerUrl: entry.issuerUrl, clientId: trusted ? trustedClient : entry.clientId, trusted, audienceScopes: [], entries: [] };
    plan.entries.push(entry);
    if (trusted && entry.clientId !== trustedClient) {
      const scope = `${CROSS_CLIENT_SCOPE_PREFIX}${entry.clientId}`;
      if (!plan.audienceScopes.includes(scope)) plan.audienceScopes.push(scope);
    }
    plans.set(key, plan);
  }
  return [...plans.values()];
}

/** Why an issuer needs more than one sign-in (one line per issuer), for stderr; empty when none does. */
export function extraSignInReasons(plans: readonly SignInPlan[]): string[] {
  const byIssuer = new Map<string, SignInPlan[]>();
  for (const plan of plans) byIssuer.set(plan.issuerUrl, [...(byIssuer.get(plan.issuerUrl) ?? []), plan]);
  const reasons: string[] = [];
  for (const [issuer, group] of byIssuer) {
    if (group.length < 2) continue;
    const clients = group.map((p) => `${p.clientId} (${p.entries.map((e) => e.name).join(', ')})`).join('; ');
    reasons.push(`${group.length} sign-ins at ${issuer}: its clusters use different clients (${clients}) and no --trusted-client was given; with Dex, register each client with \`clusters add --trusted-peer <client>\` and sign in once with --trusted-client <client>`);
  }
  return reasons;
}

/** The entries whose client-id the ID token's aud lacks (Dex did not grant the audience). */
export function missingAudiences(plan: SignInPlan, aud: unknown): string[] {
  const audiences = Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : typeof aud === 'string' ? [aud] : [];
  return plan.entries.filter((e) => !audiences.includes(e.clientId)).map((e) => e.name);
}
