import { describe, expect, it } from 'vitest';
import type { ClusterEntry } from '../../src/core/cluster-entry.js';
import { extraSignInReasons, missingAudiences, planSignIns } from '../../src/core/clusters/sign-in.js';

const entry = (name: string, issuerUrl: string, clientId: string): ClusterEntry => ({ name, server: 'https://k', issuerUrl, clientId, extraScopes: [], usernameClaim: 'email', groupsClaim: 'groups' });
const fleet = [entry('a', 'https://dex', 'kubernetes-a'), entry('b', 'https://dex', 'kubernetes-b'), entry('c', 'https://other', 'kubernetes-c'), entry('d', 'https://dex', 'k8s-auth')];

describe('login --all: sign-ins per issuer', () => {
  it('with a trusted client: one sign-in per issuer, asking for every other client as an audience', () => {
    const plans = planSignIns(fleet, 'k8s-auth');
    expect(plans.map((p) => [p.issuerUrl, p.clientId, p.trusted, p.entries.map((e) => e.name)])).toEqual([
      ['https://dex', 'k8s-auth', true, ['a', 'b', 'd']],
      ['https://other', 'k8s-auth', true, ['c']],
    ]);
    expect(plans[0]?.audienceScopes).toEqual(['audience:server:client_id:kubernetes-a', 'audience:server:client_id:kubernetes-b']);
    expect(extraSignInReasons(plans)).toEqual([]);
  });

  it('without one: one sign-in per (issuer, client), and the reason said per issuer', () => {
    const plans = planSignIns(fleet);
    expect(plans).toHaveLength(4);
    expect(plans.every((p) => !p.trusted && p.audienceScopes.length === 0)).toBe(true);
    const reasons = extraSignInReasons(plans);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/^3 sign-ins at https:\/\/dex: its clusters use different clients \(kubernetes-a \(a\); kubernetes-b \(b\); k8s-auth \(d\)\)/);
    expect(reasons[0]).toContain('--trusted-peer');
  });

  it('names the clusters whose client the ID token is not for', () => {
    const [plan] = planSignIns(fleet, 'k8s-auth');
    if (plan === undefined) throw new Error('no plan');
    expect(missingAudiences(plan, ['k8s-auth', 'kubernetes-a', 'kubernetes-b'])).toEqual([]);
    expect(missingAudiences(plan, ['k8s-auth', 'kubernetes-a'])).toEqual(['b']);
    expect(missingAudiences(plan, 'k8s-auth')).toEqual(['a', 'b']);
  });
});
