import { describe, expect, it } from 'vitest';
import { evaluateCel, evaluateTokenAgainstConfig, parseAuthenticationConfig, type JwtAuthenticator } from '../../src/core/authentication-config.js';
import { authenticationConfigVerdict, apiServerVerdict } from '../../src/core/doctor/verdicts.js';
import type { ApiServerObservation } from '../../src/core/doctor/observations.js';

const CONFIG = `
apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt:
  - issuer:
      url: https://127.0.0.1:5556/dex
      certificateAuthority: |
        -----BEGIN CERTIFICATE-----
        MIIB
        -----END CERTIFICATE-----
      audiences: [k8s-auth, kubectl]
      audienceMatchPolicy: MatchAny
    claimMappings:
      username: { claim: email, prefix: "dex:" }
      groups: { claim: groups, prefix: "dex:" }
    claimValidationRules:
      - expression: claims.email_verified == true
        message: the e-mail address must be verified
  - issuer:
      url: https://127.0.0.1:8443/realms/k8s
      audiences: [k8s-auth]
    claimMappings:
      username: { expression: '"kc:" + claims.preferred_username' }
      groups: { claim: groups, prefix: "kc:" }
    claimValidationRules:
      - claim: tenant
        requiredValue: acme
      - expression: "'k8s-users' in claims.groups && has(claims.preferred_username)"
      - expression: claims.exp - claims.iat <= 86400
    userValidationRules:
      - expression: "!user.username.startsWith('system:')"
`;

const NOW = Date.UTC(2026, 11, 3, 7, 0, 0);
const exp = NOW / 1000 + 3600;

function jwt(): JwtAuthenticator[] {
  const parsed = parseAuthenticationConfig(CONFIG, 'auth.yaml');
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.jwt;
}

const jane = { iss: 'https://127.0.0.1:5556/dex', aud: 'k8s-auth', exp, email: 'jane@example.com', email_verified: true, groups: ['developers'] };

describe('parseAuthenticationConfig', () => {
  it('reads issuers, audiences, claim mappings and both kinds of rules', () => {
    const [dex, kc] = jwt();
    expect(dex).toEqual({
      issuerUrl: 'https://127.0.0.1:5556/dex',
      audiences: ['k8s-auth', 'kubectl'],
      username: { claim: 'email', prefix: 'dex:' },
      groups: { claim: 'groups', prefix: 'dex:' },
      claimValidationRules: [{ expression: 'claims.email_verified == true', message: 'the e-mail address must be verified' }],
      userValidationRules: [],
    });
    expect(kc?.username).toEqual({ expression: '"kc:" + claims.preferred_username' });
    expect(kc?.claimValidationRules[0]).toEqual({ claim: 'tenant', requiredValue: 'acme' });
    expect(kc?.userValidationRules).toEqual([{ expression: "!user.username.startsWith('system:')" }]);
  });

  it('refuses what is not an AuthenticationConfiguration, with the file named', () => {
    expect(parseAuthenticationConfig('jwt: [oops', 'a.yaml')).toEqual({ ok: false, problem: 'a.yaml is not valid YAML' });
    expect(parseAuthenticationConfig('apiVersion: v1\nkind: Config\n', 'a.yaml')).toMatchObject({ ok: false, problem: expect.stringContaining('a.yaml is not an AuthenticationConfiguration (apiVersion v1, kind Config') });
    expect(parseAuthenticationConfig('apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\njwt: []\n', 'a.yaml')).toEqual({ ok: false, problem: 'a.yaml has no jwt authenticators' });
    const noAud = 'apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\njwt:\n- issuer: { url: "https://x" }\n  claimMappings: { username: { claim: sub, prefix: "" } }\n';
    expect(parseAuthenticationConfig(noAud, 'a.yaml')).toEqual({ ok: false, problem: 'a.yaml: jwt[0] (https://x) has no issuer.audiences' });
  });
});

describe('evaluateCel (the small subset doctor evaluates)', () => {
  const claims = { email_verified: false, groups: ['a', 'b'], n: 3, nested: { tier: 'gold' } };
  it.each([
    ['claims.email_verified == true', false],
    ['claims.email_verified != true', true],
    ['true == claims.email_verified', false],
    ["claims.nested.tier == 'gold'", true],
    ['claims.n == 3', true],
    ['claims.?email_verified.orValue(true) == true', false],
    ['claims.?missing.orValue(true) == true', true],
    ['has(claims.groups)', true],
    ['!has(claims.missing)', true],
    ["'b' in claims.groups", true],
    ["'c' in claims.groups", false],
    ["'a' in claims.groups && claims.n == 3", true],
    ["'a' in claims.groups && claims.n == 4", false],
    ['claims.missing == true', false],
  ])('%s → %s', (expression, value) => {
    expect(evaluateCel(expression, claims)?.value).toBe(value);
  });

  it('says why: the claim as the token has it, and a missing claim as CEL fails on it', () => {
    expect(evaluateCel('claims.email_verified == true', claims)).toEqual({ value: false, why: 'email_verified is false' });
    expect(evaluateCel('claims.missing == true', claims)).toEqual({ value: false, why: 'claim missing is absent (the expression fails with "no such key")' });
  });

  it.each(['claims.a == 1 || claims.b == 2', '(claims.n == 3)', 'claims.exp - claims.iat <= 86400', "claims.email.endsWith('@example.com')", "claims.x == 'a&&b'", 'request.x == 1'])(
    'does not guess at %s',
    (expression) => {
      expect(evaluateCel(expression, claims)).toBeUndefined();
    },
  );
});

describe('evaluateTokenAgainstConfig', () => {
  it('accepts a verified Dex user and predicts the prefixed user and groups', () => {
    const e = evaluateTokenAgainstConfig(jwt(), jane, NOW);
    expect(e.rejected).toBe(false);
    expect(e.issuerUrl).toBe('https://127.0.0.1:5556/dex');
    expect(e.username).toBe('dex:jane@example.com');
    expect(e.groups).toEqual(['dex:developers']);
    expect(e.results.map((r) => [r.rule, r.outcome])).toEqual([
      ['iss', 'pass'],
      ['aud', 'pass'],
      ['exp', 'pass'],
      ['username claim email', 'pass'],
      ['email_verified (required with username claim email)', 'pass'],
      ['groups claim groups', 'pass'],
      ['claim validation rule `claims.email_verified == true`', 'pass'],
    ]);
  });

  it('names the CEL rule an unverified address fails, with the server message', () => {
    const e = evaluateTokenAgainstConfig(jwt(), { ...jane, email: 'unverified@example.com', email_verified: false }, NOW);
    expect(e.rejected).toBe(true);
    const failed = e.results.filter((r) => r.outcome === 'fail');
    expect(failed).toEqual([
      { rule: 'email_verified (required with username claim email)', outcome: 'fail', detail: 'email_verified is false' },
      { rule: 'claim validation rule `claims.email_verified == true`', outcome: 'fail', detail: 'email_verified is false; the server\'s message: "the e-mail address must be verified"' },
    ]);
  });

  it('fails an unknown issuer, a foreign audience, an expired token and a missing username claim', () => {
    const other = evaluateTokenAgainstConfig(jwt(), { ...jane, iss: 'https://elsewhere' }, NOW);
    expect(other.results).toEqual([{ rule: 'iss', outcome: 'fail', detail: "the token's issuer 'https://elsewhere' is none of the configured issuers (https://127.0.0.1:5556/dex, https://127.0.0.1:8443/realms/k8s)" }]);
    const aud = evaluateTokenAgainstConfig(jwt(), { ...jane, aud: ['someone-else'] }, NOW);
    expect(aud.results.find((r) => r.rule === 'aud')).toEqual({ rule: 'aud', outcome: 'fail', detail: 'aud ["someone-else"] has none of the configured audiences ["k8s-auth","kubectl"]' });
    const expired = evaluateTokenAgainstConfig(jwt(), { ...jane, exp: NOW / 1000 - 60 }, NOW);
    expect(expired.results.find((r) => r.rule === 'exp')?.outcome).toBe('fail');
    const { email: _email, ...noEmail } = jane;
    const noUser = evaluateTokenAgainstConfig(jwt(), noEmail, NOW);
    expect(noUser.results.find((r) => r.rule === 'username claim email')).toMatchObject({ outcome: 'fail', detail: "the token's email is absent; the username claim must be a non-empty string" });
  });

  it('evaluates required claims and the CEL it can on the second issuer, and lists the rest as not evaluated', () => {
    const kc = { iss: 'https://127.0.0.1:8443/realms/k8s', aud: ['k8s-auth', 'account'], exp, iat: exp - 3600, preferred_username: 'jane', groups: ['k8s-users'], tenant: 'acme' };
    const ok = evaluateTokenAgainstConfig(jwt(), kc, NOW);
    expect(ok.rejected).toBe(false);
    expect(ok.username).toBeUndefined(); // an expression: not predicted
    expect(ok.results.filter((r) => r.outcome === 'not-evaluated').map((r) => r.rule)).toEqual([
      'username expression "kc:" + claims.preferred_username',
      'claim validation rule `claims.exp - claims.iat <= 86400`',
      "user validation rule `!user.username.startsWith('system:')`",
    ]);
    const wrongTenant = evaluateTokenAgainstConfig(jwt(), { ...kc, tenant: 'other', groups: ['staff'] }, NOW);
    expect(wrongTenant.results.filter((r) => r.outcome === 'fail').map((r) => [r.rule, r.detail])).toEqual([
      ['required claim tenant=acme', 'tenant is "other"'],
      ["claim validation rule `'k8s-users' in claims.groups && has(claims.preferred_username)`", 'groups is ["staff"]'],
    ]);
  });
});

describe('authenticationConfigVerdict and the api-server check', () => {
  const probed = (status: number): ApiServerObservation => ({ kind: 'probed', server: 'https://127.0.0.1:6443', credentials: 'id-token', review: 'SelfSubjectReview', answer: { status } });

  it('fails with the rule and a fix; the 401 check points at it', () => {
    const evaluation = evaluateTokenAgainstConfig(jwt(), { ...jane, email_verified: false }, NOW);
    const v = authenticationConfigVerdict({ kind: 'evaluated', source: 'auth.yaml', evaluation }, probed(401));
    expect(v.verdict).toBe('fail');
    expect(v.detail).toContain('by auth.yaml (issuer https://127.0.0.1:5556/dex), the API server rejects this token: ');
    expect(v.detail).toContain('claim validation rule `claims.email_verified == true`: email_verified is false');
    expect(v.fix).toContain('verify the e-mail address');
    const api = apiServerVerdict(probed(401), undefined, { rejected: true });
    expect([api.verdict, api.fix]).toEqual(['fail', 'see the authentication-config check: it names the rule the token fails']);
  });

  it('passes a token it accepts, naming the user the server makes of it', () => {
    const evaluation = evaluateTokenAgainstConfig(jwt(), jane, NOW);
    const v = authenticationConfigVerdict({ kind: 'evaluated', source: 'auth.yaml', evaluation }, probed(201));
    expect(v.verdict).toBe('pass');
    expect(v.detail).toContain("user 'dex:jane@example.com' groups dex:developers");
  });

  it('warns when every rule it can evaluate passes but the server still said 401', () => {
    const evaluation = evaluateTokenAgainstConfig(jwt(), jane, NOW);
    const v = authenticationConfigVerdict({ kind: 'evaluated', source: 'auth.yaml', evaluation }, probed(401));
    expect(v.verdict).toBe('warn');
    expect(v.fix).toContain("check kube-apiserver's log");
  });

  it('skips without a token, and the legacy 401 fix names both configurations', () => {
    expect(authenticationConfigVerdict({ kind: 'no-token', source: 'auth.yaml', reason: 'no ID token is cached' }, probed(401))).toMatchObject({ verdict: 'skip', detail: 'auth.yaml: no ID token is cached' });
    const legacy = apiServerVerdict(probed(401), { issuerUrl: 'https://i/dex', clientId: 'k8s-auth' });
    expect(legacy.fix).toContain('--oidc-issuer-url=https://i/dex --oidc-client-id=k8s-auth');
    expect(legacy.fix).toContain("with --authentication-config a jwt issuer with url https://i/dex and 'k8s-auth' among its audiences");
  });
});
