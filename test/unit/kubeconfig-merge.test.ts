import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  checkKubeconfig,
  clearOidcTokens,
  getCurrentContext,
  namesIn,
  oidcAuthProviderUser,
  readNamed,
  removeNamed,
  renderKubeconfig,
  setCluster,
  setContext,
  setCurrentContext,
  setUser,
} from '../../src/core/kubeconfig-merge.js';
import { chooseCurrentContextTarget, chooseWriteTarget, kubeconfigPaths, kubeconfigPathsFrom } from '../../src/core/kubeconfig-paths.js';
import { ExitCode } from '../../src/errors.js';
import { cliErrorOf } from '../support/cli-error.js';

const EXISTING = `# managed by hand: keep me
apiVersion: v1
kind: Config
clusters:
- name: prod # the production cluster
  cluster:
    server: https://old:6443
    certificate-authority: /etc/ca.pem
    proxy-url: http://proxy:3128
- name: other
  cluster:
    server: https://other
contexts:
- name: prod
  context:
    cluster: prod
    user: jane@prod
    namespace: chosen-by-me
users:
- name: jane@prod
  user:
    exec:
      command: something-else
current-context: other
preferences: {}
`;

function load(text: string) {
  const doc = parseDocument(text);
  checkKubeconfig(doc, 'test');
  return doc;
}

const failure = cliErrorOf;

describe('kubeconfig merge', () => {
  it('updates our entries in place and keeps everything else, comments included', () => {
    const doc = load(EXISTING);
    setCluster(doc, 'prod', { server: 'https://new:6443', caData: 'Q0E=' });
    setUser(doc, 'jane@prod', oidcAuthProviderUser({ issuerUrl: 'https://dex/dex', clientId: 'k8s', idToken: 'id.tok.en', refreshToken: 'refresh', idpCaData: 'SURQ' }));
    setContext(doc, 'prod', { cluster: 'prod', user: 'jane@prod' });
    setCurrentContext(doc, 'prod');
    const text = renderKubeconfig(doc, EXISTING);
    expect(text).toContain('# managed by hand: keep me');
    expect(text).toContain('- name: prod # the production cluster');
    // kubectl's list style, as in the original
    expect(text).toMatch(/^clusters:\n- name: prod/m);
    const round = load(text);
    // a user-added proxy-url stays; the file CA path would conflict with the data and goes
    expect(readNamed(round, 'clusters', 'prod')).toEqual({ server: 'https://new:6443', 'proxy-url': 'http://proxy:3128', 'certificate-authority-data': 'Q0E=' });
    expect(readNamed(round, 'clusters', 'other')).toEqual({ server: 'https://other' });
    // the whole user is replaced (no exec left next to the auth-provider)
    expect(readNamed(round, 'users', 'jane@prod')).toEqual({
      'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': 'https://dex/dex', 'client-id': 'k8s', 'id-token': 'id.tok.en', 'refresh-token': 'refresh', 'idp-certificate-authority-data': 'SURQ' } },
    });
    // a namespace the user chose stays when the entry names none
    expect(readNamed(round, 'contexts', 'prod')).toEqual({ cluster: 'prod', user: 'jane@prod', namespace: 'chosen-by-me' });
    expect(getCurrentContext(round)).toBe('prod');
    expect(round.get('preferences')).toBeDefined();
  });

  it('adds entries to an empty file in kubectl shape, and writes client-secret only when given', () => {
    const doc = load('');
    setCluster(doc, 'dev', { server: 'https://dev' });
    setUser(doc, 'a@dev', oidcAuthProviderUser({ issuerUrl: 'https://i', clientId: 'c', clientSecret: 's3cret', idToken: 't' }));
    setContext(doc, 'dev', { cluster: 'dev', user: 'a@dev', namespace: 'team' });
    const js = load(renderKubeconfig(doc)).toJS() as Record<string, unknown>;
    expect(js).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'dev', cluster: { server: 'https://dev' } }],
      contexts: [{ name: 'dev', context: { cluster: 'dev', user: 'a@dev', namespace: 'team' } }],
      users: [{ name: 'a@dev', user: { 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': 'https://i', 'client-id': 'c', 'client-secret': 's3cret', 'id-token': 't' } } } }],
      preferences: {},
    });
    expect(Object.keys((oidcAuthProviderUser({ issuerUrl: 'i', clientId: 'c', idToken: 't' })['auth-provider'] as { config: object }).config)).toEqual(['idp-issuer-url', 'client-id', 'id-token']);
  });

  it('drops stale CA data when the entry has none, and turns flow lists into block lists', () => {
    const doc = load('clusters: [{name: a, cluster: {server: https://a, certificate-authority-data: T0xE}}]\nusers: []\n');
    setCluster(doc, 'a', { server: 'https://a2' });
    setUser(doc, 'u', { token: 'x' });
    const text = renderKubeconfig(doc);
    expect(text).toContain('users:\n- name: u\n');
    expect(readNamed(load(text), 'clusters', 'a')).toEqual({ server: 'https://a2' });
  });

  it('clears tokens for logout and removes entries by name', () => {
    const doc = load('');
    setUser(doc, 'u', oidcAuthProviderUser({ issuerUrl: 'https://i', clientId: 'c', idToken: 't', refreshToken: 'r' }));
    expect(clearOidcTokens(doc, 'u')).toBe(true);
    expect(clearOidcTokens(doc, 'u')).toBe(false);
    expect(readNamed(doc, 'users', 'u')).toEqual({ 'auth-provider': { name: 'oidc', config: { 'idp-issuer-url': 'https://i', 'client-id': 'c' } } });
    expect(removeNamed(doc, 'users', 'u')).toBe(true);
    expect(namesIn(doc, 'users')).toEqual([]);
  });

  it('refuses kubeconfigs it cannot safely rewrite, with one KUBECONFIG line', () => {
    for (const [text, pattern] of [
      ['- just\n- a list\n', /is not a mapping/],
      ['clusters: {a: b}\n', /'clusters' must be a list/],
      ['apiVersion: v1\nclusters: [\n', /is not valid YAML/],
      ['current-context: [a]\n', /'current-context' must be a string/],
    ] as const) {
      const e = failure(() => checkKubeconfig(parseDocument(text), '/k/config'));
      expect(e.exitCode).toBe(ExitCode.KUBECONFIG);
      expect(e.message).toMatch(pattern);
      expect(e.message).not.toContain('\n');
    }
  });

  it('keeps indented lists indented', () => {
    const text = 'apiVersion: v1\nclusters:\n  - name: a\n    cluster:\n      server: https://a\n';
    const doc = load(text);
    setCluster(doc, 'b', { server: 'https://b' });
    expect(renderKubeconfig(doc, text)).toContain('  - name: b\n');
  });
});

describe('kubeconfig paths', () => {
  it('takes --kubeconfig, else KUBECONFIG (deduplicated, empty items skipped), else ~/.kube/config', () => {
    expect(kubeconfigPathsFrom('/x', '/a:/b', '/home/me', ':')).toEqual(['/x']);
    expect(kubeconfigPathsFrom(undefined, ':/a::/b:/a', '/home/me', ':')).toEqual(['/a', '/b']);
    expect(kubeconfigPathsFrom(undefined, '', '/home/me', ':')).toEqual(['/home/me/.kube/config']);
    expect(kubeconfigPathsFrom('', undefined, '/home/me', ':')).toEqual(['/home/me/.kube/config']);
  });
  it('the one rule every reader and writer uses: home from the given environment\'s HOME, as kubectl takes it', () => {
    expect(kubeconfigPaths(undefined, { HOME: '/home/other' })).toEqual(['/home/other/.kube/config']);
    expect(kubeconfigPaths(undefined, { HOME: '/home/other', KUBECONFIG: '/a:/a:/b' })).toEqual(['/a', '/b']);
    expect(kubeconfigPaths('/flag', { HOME: '/home/other', KUBECONFIG: '/a' })).toEqual(['/flag']);
  });
  it('writes to the first file that has the entry, else the first file', () => {
    expect(chooseWriteTarget(['/a', '/b', '/c'], (p) => p === '/b' || p === '/c')).toBe('/b');
    expect(chooseWriteTarget(['/a', '/b'], () => false)).toBe('/a');
  });
  it('sets current-context where kubectl reads it: the first file that sets one, else the fallback', () => {
    expect(chooseCurrentContextTarget(['/a', '/b'], (p) => (p === '/b' ? 'x' : undefined), '/a')).toBe('/b');
    expect(chooseCurrentContextTarget(['/a', '/b'], () => undefined, '/b')).toBe('/b');
  });
});
