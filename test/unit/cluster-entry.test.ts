import { describe, expect, it } from 'vitest';
import { parseClusterEntry, scopesFor, splitScopes } from '../../src/core/cluster-entry.js';
import { CliError, ExitCode } from '../../src/errors.js';
import { cliErrorOf } from '../support/cli-error.js';

const PEM_B64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');
const SOURCE = 'Vault secret/k8s-auth/clusters/prod';

const failure = (raw: unknown): CliError => cliErrorOf(() => parseClusterEntry('prod', raw, SOURCE));

const minimal = { server: 'https://k8s.example.com:6443', 'issuer-url': 'https://dex.example.com/dex/', 'client-id': 'k8s-auth' };

describe('parseClusterEntry', () => {
  it('applies defaults and normalises the issuer URL', () => {
    const entry = parseClusterEntry('prod', minimal, SOURCE);
    expect(entry).toEqual({
      name: 'prod',
      server: 'https://k8s.example.com:6443',
      issuerUrl: 'https://dex.example.com/dex',
      clientId: 'k8s-auth',
      extraScopes: [],
      usernameClaim: 'email',
      groupsClaim: 'groups',
    });
  });

  it('reads every optional field', () => {
    const entry = parseClusterEntry('prod', {
      ...minimal,
      'certificate-authority-data': PEM_B64,
      'client-secret': 's3cr3t-value',
      'extra-scopes': 'federated:id, audience:server:client_id:k8s',
      'idp-certificate-authority-data': PEM_B64,
      'redirect-uri': 'http://127.0.0.1:18000/callback',
      namespace: 'team-a',
      'username-claim': 'preferred_username',
      'groups-claim': 'roles',
    }, SOURCE);
    expect(entry.extraScopes).toEqual(['federated:id', 'audience:server:client_id:k8s']);
    expect(entry.redirectUri).toBe('http://127.0.0.1:18000/callback');
    expect(entry.clientSecret).toBe('s3cr3t-value');
    expect(entry.namespace).toBe('team-a');
    expect(entry.usernameClaim).toBe('preferred_username');
  });

  it.each([
    [null, 'entry must be a mapping'],
    [['server'], 'entry must be a mapping'],
    [{ 'issuer-url': minimal['issuer-url'], 'client-id': 'x' }, "required field 'server' is missing"],
    [{ server: minimal.server, 'client-id': 'x' }, "required field 'issuer-url' is missing"],
    [{ server: minimal.server, 'issuer-url': minimal['issuer-url'] }, "required field 'client-id' is missing"],
    [{ ...minimal, server: 6443 }, "field 'server' must be a string, not number"],
    [{ ...minimal, 'extra-scopes': ['a'] }, "field 'extra-scopes' must be a string, not a list"],
    [{ ...minimal, server: 'http://k8s.example.com' }, "field 'server' must be an https:// URL"],
    [{ ...minimal, 'issuer-url': 'not a url' }, "field 'issuer-url' is not a URL"],
    [{ ...minimal, 'certificate-authority-data': '%%%' }, 'must be base64 of a PEM certificate'],
    [{ ...minimal, 'idp-certificate-authority-data': Buffer.from('hello').toString('base64') }, 'does not decode to a PEM certificate'],
    [{ ...minimal, 'redirect-uri': 'https://example.com/cb' }, "field 'redirect-uri' must be http://127.0.0.1:<port>"],
    [{ ...minimal, 'redirect-uri': 'http://127.0.0.1/callback' }, "field 'redirect-uri' must be http://127.0.0.1:<port>"],
    [{ ...minimal, 'redirect-uri': 'http://127.0.0.1:8000' }, "field 'redirect-uri' must be http://127.0.0.1:<port>/<path>"],
    [{ ...minimal, 'redirect-uri': 'http://127.0.0.1:8000/' }, "field 'redirect-uri' must be http://127.0.0.1:<port>/<path>"],
    [{ ...minimal, issuer_url: 'x' }, "unknown field 'issuer_url'"],
  ])('refuses %j with a one-line CATALOG error', (raw, expected) => {
    const error = failure(raw);
    expect(error.exitCode).toBe(ExitCode.CATALOG);
    expect(error.message).toContain(expected);
    expect(error.message).toContain(`cluster 'prod' in ${SOURCE}`);
    expect(error.message).not.toContain('\n');
  });

  it('allows plain http only for loopback servers and issuers', () => {
    const entry = parseClusterEntry('dev', { ...minimal, server: 'http://127.0.0.1:8080', 'issuer-url': 'http://[::1]:5556/dex' }, SOURCE);
    expect(entry.server).toBe('http://127.0.0.1:8080');
    expect(entry.issuerUrl).toBe('http://[::1]:5556/dex');
  });
});

describe('scopes', () => {
  it('splits on spaces and commas and dedupes against the base scopes', () => {
    expect(splitScopes(' a, b  c,,d ')).toEqual(['a', 'b', 'c', 'd']);
    expect(scopesFor({ extraScopes: ['groups', 'federated:id'] })).toEqual(['openid', 'email', 'profile', 'groups', 'offline_access', 'federated:id']);
  });
});
