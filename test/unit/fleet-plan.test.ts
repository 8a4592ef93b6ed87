import { describe, expect, it } from 'vitest';
import { addSteps, clientIdFor, clusterOfClientName, planAdd, planRotate, redirectUrisFor, removeSteps, rotateSteps, type DexClientSpec } from '../../src/core/clusters/plan.js';
import { apiServerConfig, compareFleet, type CatalogSide, type DexSide } from '../../src/core/clusters/report.js';
import { ExitCode } from '../../src/errors.js';
import { cliErrorOf } from '../support/cli-error.js';

const ISSUER = 'https://dex.example.com/dex';
const PEM_B64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const request = { cluster: 'prod', server: 'https://prod.example.com:6443', issuerUrl: ISSUER, public: false, redirectPort: 8000 };

describe('clusters add: the plan', () => {
  it('derives the client ID and its managed name from the cluster name, and refuses a bad name', () => {
    expect(clientIdFor('prod-eu.1')).toBe('kubernetes-prod-eu.1');
    expect(clusterOfClientName('k8s-auth cluster prod')).toBe('prod');
    expect(clusterOfClientName('someone else')).toBeUndefined();
    expect(cliErrorOf(() => clientIdFor('../etc')).exitCode).toBe(ExitCode.USAGE);
  });

  it('registers exact loopback redirect URIs for a confidential client, none for a public one', () => {
    expect(redirectUrisFor(false, 8123)).toEqual(['http://127.0.0.1:8123/callback', 'http://localhost:8123/callback', 'http://[::1]:8123/callback']);
    expect(redirectUrisFor(true, 8123)).toEqual([]);
    expect(cliErrorOf(() => redirectUrisFor(false, 80)).message).toMatch(/--redirect-port 80 must be a port from 1024/);
  });

  it('a confidential client: the secret goes to Dex and to the entry, with the redirect URI', () => {
    const plan = planAdd({ ...request, certificateAuthorityData: PEM_B64 }, 's3cret');
    expect(plan.client).toEqual({ id: 'kubernetes-prod', name: 'k8s-auth cluster prod', secret: 's3cret', redirectUris: redirectUrisFor(false, 8000), trustedPeers: [], public: false });
    expect(plan.record).toEqual({ server: request.server, 'issuer-url': ISSUER, 'client-id': 'kubernetes-prod', 'certificate-authority-data': PEM_B64, 'client-secret': 's3cret', 'redirect-uri': 'http://127.0.0.1:8000/callback' });
  });

  it('a public client: no secret anywhere and no redirect-uri (any loopback port)', () => {
    const plan = planAdd({ ...request, public: true }, 'unused');
    expect(plan.client.secret).toBe('');
    expect(plan.client.public).toBe(true);
    expect(plan.record).not.toHaveProperty('client-secret');
    expect(plan.record).not.toHaveProperty('redirect-uri');
  });

  it('refuses an entry a login would refuse (the same checks)', () => {
    expect(cliErrorOf(() => planAdd({ ...request, server: 'http://prod.example.com' }, 's')).message).toMatch(/'server' must be an https:\/\/ URL/);
  });

  it('names the steps in order without secrets', () => {
    const plan = planAdd(request, 'never-shown');
    const steps = addSteps(plan, 'secret/k8s-auth/clusters/prod');
    expect(steps.map((s) => `${s.target}:${s.action}`)).toEqual(['dex:create-client', 'vault:write-entry']);
    expect(steps[1]?.detail).toContain('cas=0');
    expect(JSON.stringify(steps)).not.toContain('never-shown');
    expect(removeSteps('kubernetes-prod', 'p', 3).map((s) => s.action)).toEqual(['delete-client', 'delete-entry']);
    expect(removeSteps(undefined, 'p', 3).map((s) => s.action)).toEqual(['delete-entry']);
    expect(removeSteps(undefined, 'p', undefined)).toEqual([]);
    expect(rotateSteps('kubernetes-prod', 'p', 7)[1]?.detail).toContain('cas=7');
  });
});

describe('clusters rotate-secret: the plan', () => {
  const client: DexClientSpec = { id: 'kubernetes-prod', name: 'k8s-auth cluster prod', secret: 'old', redirectUris: ['http://127.0.0.1:8000/callback'], trustedPeers: ['k8s-auth'], public: false };
  it('keeps everything but the secret, in both', () => {
    const next = planRotate('prod', { 'client-id': 'kubernetes-prod', 'client-secret': 'old', server: 'https://x' }, client, 'new');
    expect(next.client).toEqual({ ...client, secret: 'new' });
    expect(next.record).toEqual({ 'client-id': 'kubernetes-prod', 'client-secret': 'new', server: 'https://x' });
  });
  it('refuses a public client and an entry naming another client', () => {
    expect(cliErrorOf(() => planRotate('prod', { 'client-id': 'kubernetes-prod' }, { ...client, public: true }, 'n')).message).toContain('public and has no secret');
    expect(cliErrorOf(() => planRotate('prod', { 'client-id': 'other' }, client, 'n')).exitCode).toBe(ExitCode.CATALOG);
  });
});

describe('clusters list: catalog against Dex', () => {
  const dex = (over: Partial<DexSide> = {}): DexSide => ({ id: 'kubernetes-prod', name: 'k8s-auth cluster prod', public: false, redirectUris: ['http://127.0.0.1:8000/callback'], secretMatches: true, ...over });
  const entry = (over: Partial<CatalogSide> = {}): CatalogSide => ({ cluster: 'prod', clientId: 'kubernetes-prod', issuerUrl: ISSUER, hasSecret: true, redirectUri: 'http://127.0.0.1:8000/callback', ...over });
  const statuses = (catalog: CatalogSide[], clients: DexSide[]) => compareFleet(catalog, clients, `${ISSUER}/`).map((r) => `${r.cluster}:${r.status}`);

  it('ok when both agree; other clients of Dex are not ours to report', () => {
    expect(statuses([entry()], [dex(), dex({ id: 'k8s-auth', name: 'k8s-auth' })])).toEqual(['prod:ok']);
  });
  it('each kind of mismatch', () => {
    expect(statuses([entry()], [])).toEqual(['prod:missing-in-dex']);
    expect(statuses([], [dex()])).toEqual(['prod:missing-in-catalog']);
    expect(statuses([entry({ issuerUrl: 'https://other.example.com' })], [])).toEqual(['prod:other-issuer']);
    expect(statuses([entry({ problem: 'bad field' })], [dex()])).toEqual(['prod:unreadable', 'prod:missing-in-catalog']);
    const differs = compareFleet([entry()], [dex({ secretMatches: false, public: true, redirectUris: ['http://127.0.0.1:9/callback'] })], ISSUER)[0];
    expect(differs?.status).toBe('differs');
    expect(differs?.detail).toMatch(/public but the entry has a client-secret; the client-secret differs.*; redirect-uri .* is not registered/);
    expect(statuses([entry({ hasSecret: false })], [dex()])).toEqual(['prod:differs']);
  });
});

describe('what the API server needs', () => {
  it('legacy flags and one AuthenticationConfiguration jwt entry with the client ID as audience', () => {
    const config = apiServerConfig(ISSUER, 'kubernetes-prod', 'PEM');
    expect(config.flags.slice(0, 2)).toEqual([`--oidc-issuer-url=${ISSUER}`, '--oidc-client-id=kubernetes-prod']);
    expect(config.jwt).toEqual({ issuer: { url: ISSUER, audiences: ['kubernetes-prod'], certificateAuthority: 'PEM' }, claimMappings: { username: { claim: 'email', prefix: '' }, groups: { claim: 'groups', prefix: '' } } });
    expect(apiServerConfig(ISSUER, 'c', undefined).jwt).toEqual({ issuer: { url: ISSUER, audiences: ['c'] }, claimMappings: expect.any(Object) });
  });
});
