import { parse } from 'yaml';

/**
 * kube-apiserver's structured authentication (`--authentication-config FILE`, an
 * `AuthenticationConfiguration` of apiserver.config.k8s.io/v1, GA in 1.34) as far as doctor can
 * judge a token against it without the server: which JWT authenticator the token's `iss` picks,
 * whether its `aud` matches, its expiry, the username and groups claims, the `email_verified`
 * check the server applies when the username claim is `email`, `claim`/`requiredValue` rules,
 * and the simple CEL rules listed at `evaluateCel`. Anything else (other CEL, the signature, the
 * JWKS) is reported as not evaluated, never guessed. Pure: no I/O.
 */
export interface ClaimOrExpression {
  claim?: string;
  prefix?: string;
  expression?: string;
}

export interface ClaimValidationRule {
  claim?: string;
  requiredValue?: string;
  expression?: string;
  message?: string;
}

export interface JwtAuthenticator {
  issuerUrl: string;
  audiences: string[];
  username: ClaimOrExpression;
  groups?: ClaimOrExpression;
  claimValidationRules: ClaimValidationRule[];
  userValidationRules: { expression: string; message?: string }[];
}

export type ParsedAuthenticationConfig = { ok: true; jwt: JwtAuthenticator[] } | { ok: false; problem: string };

const API_VERSIONS = ['apiserver.config.k8s.io/v1', 'apiserver.config.k8s.io/v1beta1', 'apiserver.config.k8s.io/v1alpha1'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function claimOrExpression(value: unknown): ClaimOrExpression {
  const out: ClaimOrExpression = {};
  if (!isRecord(value)) return out;
  const claim = optString(value['claim']);
  const prefix = optString(value['prefix']);
  const expression = optString(value['expression']);
  if (claim !== undefined && claim !== '') out.claim = claim;
  if (prefix !== undefined) out.prefix = prefix;
  if (expression !== undefined && expression !== '') out.expression = expression;
  return out;
}

/** Reads an AuthenticationConfiguration (YAML or JSON); `source` names the file in problems. */
export function parseAuthenticationConfig(text: string, source: string): ParsedAuthenticationConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch {
    return { ok: false, problem: `${source} is not valid YAML` };
  }
  if (!isRecord(doc)) return { ok: false, problem: `${source} is not an AuthenticationConfiguration (not a mapping)` };
  if (doc['kind'] !== 'AuthenticationConfiguration' || !API_VERSIONS.includes(String(doc['apiVersion']))) {
    return { ok: false, problem: `${source} is not an AuthenticationConfiguration (apiVersion ${String(doc['apiVersion'])}, kind ${String(doc['kind'])}; want apiserver.config.k8s.io/v1, AuthenticationConfiguration)` };
  }
  const list = doc['jwt'];
  if (!Array.isArray(list) || list.length === 0) return { ok: false, problem: `${source} has no jwt authenticators` };
  const jwt: JwtAuthenticator[] = [];
  for (const [i, item] of list.entries()) {
    const issuer = isRecord(item) && isRecord(item['issuer']) ? item['issuer'] : undefined;
    const url = optString(issuer?.['url']);
    if (!isRecord(item) || !issuer || !url) return { ok: false, problem: `${source}: jwt[${i}] has no issuer.url` };
    const audiences = Array.isArray(issuer['audiences']) ? issuer['audiences'].filter((a): a is string => typeof a === 'string') : [];
    if (audiences.length === 0) return { ok: false, problem: `${source}: jwt[${i}] (${url}) has no issuer.audiences` };
    const mappings = isRecord(item['claimMappings']) ? item['claimMappings'] : {};
    const username = claimOrExpression(mappings['username']);
    if (username.claim === undefined && username.expression === undefined) return { ok: false, problem: `${source}: jwt[${i}] (${url}) has no claimMappings.username` };
    const authenticator: JwtAuthenticator = { issuerUrl: url, audiences, username, claimValidationRules: [], userValidationRules: [] };
    const groups = claimOrExpression(mappings['groups']);
    if (groups.claim !== undefined || groups.expression !== undefined) authenticator.groups = groups;
    for (const rule of Array.isArray(item['claimValidationRules']) ? item['claimValidationRules'] : []) {
      if (!isRecord(rule)) continue;
      const r: ClaimValidationRule = {};
      for (const k of ['claim', 'requiredValue', 'expression', 'message'] as const) {
        const v = optString(rule[k]);
        if (v !== undefined) r[k] = v;
      }
      authenticator.claimValidationRules.push(r);
    }
    for (const rule of Array.isArray(item['userValidationRules']) ? item['userValidationRules'] : []) {
      const expression = isRecord(rule) ? optString(rule['expression']) : undefined;
      if (expression === undefined || !isRecord(rule)) continue;
      const message = optString(rule['message']);
      authenticator.userValidationRules.push(message === undefined ? { expression } : { expression, message });
    }
    jwt.push(authenticator);
  }
  return { ok: true, jwt };
}

export type RuleOutcome = 'pass' | 'fail' | 'not-evaluated';

export interface RuleResult {
  /** What was checked: `iss`, `aud`, `exp`, `username claim email`, `claims.email_verified == true`… */
  rule: string;
  outcome: RuleOutcome;
  /** What the token has, and for a failure the server's message if the rule has one. */
  detail: string;
}

export interface TokenEvaluation {
  /** The token's `iss`. */
  tokenIssuer?: string;
  /** The configured issuers, for a token whose `iss` matches none. */
  configuredIssuers: string[];
  /** The authenticator the token's `iss` selects. */
  issuerUrl?: string;
  results: RuleResult[];
  /** Some evaluated rule failed: the server rejects this token. */
  rejected: boolean;
  /** The user the server would make of it (prefix + claim), when claim mappings allow. */
  username?: string;
  groups?: string[];
}

type ClaimLookup = { ok: true; value: unknown } | { ok: false; missing: string };

/** `claims.a.b` → the value; a missing key is a CEL evaluation error (the token is rejected). */
function claimPath(claims: Record<string, unknown>, path: string): ClaimLookup {
  let current: unknown = claims;
  const walked: string[] = [];
  for (const key of path.split('.')) {
    walked.push(key);
    if (!isRecord(current) || !(key in current)) return { ok: false, missing: walked.join('.') };
    current = current[key];
  }
  return { ok: true, value: current };
}

const IDENT_PATH = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`;
const LITERAL = String.raw`true|false|null|-?\d+(?:\.\d+)?|'[^'\\]*'|"[^"\\]*"`;

function literal(text: string): unknown {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (/^-?\d/.test(text)) return Number(text);
  return text.slice(1, -1);
}

/** CEL's heterogeneous equality for the JSON values a token holds. */
function celEquals(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b) || isRecord(a) || isRecord(b)) return JSON.stringify(a) === JSON.stringify(b);
  return a === b;
}

function show(value: unknown): string {
  return value === undefined ? 'absent' : JSON.stringify(value);
}

/**
 * The CEL forms doctor evaluates (each alone or joined by `&&`): `claims.X == L`, `claims.X != L`
 * (either side), `claims.?X.orValue(L1) == L2`, `has(claims.X)`, `!has(claims.X)`,
 * `L in claims.X`, where L is true, false, null, a number or a quoted string. Returns undefined
 * for anything else (`||`, parentheses, functions, other variables).
 */
export function evaluateCel(expression: string, claims: Record<string, unknown>): { value: boolean; why: string } | undefined {
  if (expression.includes('||') || /'[^']*&&[^']*'|"[^"]*&&[^"]*"/.test(expression)) return undefined;
  const whys: string[] = [];
  for (const part of expression.split('&&').map((p) => p.trim())) {
    const one = evaluateTerm(part, claims);
    if (!one) return undefined;
    if (!one.value) return one;
    whys.push(one.why);
  }
  return { value: true, why: whys.join(', ') };
}

const HAS = new RegExp(`^(!?)has\\(claims\\.(${IDENT_PATH})\\)$`);
const OR_VALUE = new RegExp(`^claims\\.\\?(${IDENT_PATH})\\.orValue\\((${LITERAL})\\)\\s*(==|!=)\\s*(${LITERAL})$`);
const COMPARE = new RegExp(`^claims\\.(${IDENT_PATH})\\s*(==|!=)\\s*(${LITERAL})$`);
const COMPARE_REVERSED = new RegExp(`^(${LITERAL})\\s*(==|!=)\\s*claims\\.(${IDENT_PATH})$`);
const IN_LIST = new RegExp(`^(${LITERAL})\\s+in\\s+claims\\.(${IDENT_PATH})$`);

function absent(path: string): { value: boolean; why: string } {
  return { value: false, why: `claim ${path} is absent (the expression fails with "no such key")` };
}

function evaluateTerm(term: string, claims: Record<string, unknown>): { value: boolean; why: string } | undefined {
  let m = HAS.exec(term);
  if (m) {
    const path = m[2] as string;
    const present = claimPath(claims, path).ok;
    return { value: m[1] === '!' ? !present : present, why: `${path} is ${present ? 'present' : 'absent'}` };
  }
  m = OR_VALUE.exec(term);
  if (m) {
    const path = m[1] as string;
    const got = claimPath(claims, path);
    const equal = celEquals(got.ok ? got.value : literal(m[2] as string), literal(m[4] as string));
    return { value: m[3] === '==' ? equal : !equal, why: `${path} is ${got.ok ? show(got.value) : 'absent'}` };
  }
  const compare = COMPARE.exec(term);
  const reversed = compare ? null : COMPARE_REVERSED.exec(term);
  if (compare || reversed) {
    const [path, op, lit] = compare ? [compare[1], compare[2], compare[3]] : [reversed?.[3], reversed?.[2], reversed?.[1]];
    const got = claimPath(claims, path as string);
    if (!got.ok) return absent(path as string);
    const equal = celEquals(got.value, literal(lit as string));
    return { value: op === '==' ? equal : !equal, why: `${path as string} is ${show(got.value)}` };
  }
  m = IN_LIST.exec(term);
  if (m) {
    const path = m[2] as string;
    const got = claimPath(claims, path);
    if (!got.ok) return absent(path);
    const needle = literal(m[1] as string);
    if (Array.isArray(got.value)) return { value: got.value.some((v) => celEquals(v, needle)), why: `${path} is ${show(got.value)}` };
    if (isRecord(got.value) && typeof needle === 'string') return { value: needle in got.value, why: `${path} is ${show(got.value)}` };
    return undefined;
  }
  return undefined;
}

function audiencesOf(claims: Record<string, unknown>): string[] {
  const aud = claims['aud'];
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

/** Judges a token's claims against the JWT authenticators of an AuthenticationConfiguration. */
export function evaluateTokenAgainstConfig(jwt: readonly JwtAuthenticator[], claims: Record<string, unknown>, nowMs: number): TokenEvaluation {
  const tokenIssuer = typeof claims['iss'] === 'string' ? claims['iss'] : undefined;
  const evaluation: TokenEvaluation = { configuredIssuers: jwt.map((a) => a.issuerUrl), results: [], rejected: false };
  if (tokenIssuer !== undefined) evaluation.tokenIssuer = tokenIssuer;
  const push = (rule: string, outcome: RuleOutcome, detail: string): void => {
    evaluation.results.push({ rule, outcome, detail });
    if (outcome === 'fail') evaluation.rejected = true;
  };
  const authenticator = jwt.find((a) => a.issuerUrl === tokenIssuer);
  if (!authenticator) {
    push('iss', 'fail', `the token's issuer ${tokenIssuer === undefined ? '(none)' : `'${tokenIssuer}'`} is none of the configured issuers (${evaluation.configuredIssuers.join(', ')})`);
    return evaluation;
  }
  evaluation.issuerUrl = authenticator.issuerUrl;
  push('iss', 'pass', `'${authenticator.issuerUrl}' is configured`);

  const aud = audiencesOf(claims);
  const matched = aud.filter((a) => authenticator.audiences.includes(a));
  if (matched.length > 0) push('aud', 'pass', `aud ${show(aud)} includes ${matched.map((a) => `'${a}'`).join(', ')}`);
  else push('aud', 'fail', `aud ${show(aud)} has none of the configured audiences ${show(authenticator.audiences)}`);

  const exp = claims['exp'];
  if (typeof exp !== 'number') push('exp', 'fail', 'the token has no numeric exp');
  else if (exp * 1000 <= nowMs) push('exp', 'fail', `the token expired at ${new Date(exp * 1000).toISOString()}`);
  else push('exp', 'pass', `valid until ${new Date(exp * 1000).toISOString()}`);

  const u = authenticator.username;
  if (u.claim !== undefined) {
    const value = claims[u.claim];
    if (typeof value !== 'string' || value === '') {
      push(`username claim ${u.claim}`, 'fail', `the token's ${u.claim} is ${show(value)}; the username claim must be a non-empty string`);
    } else {
      evaluation.username = `${u.prefix ?? ''}${value}`;
      push(`username claim ${u.claim}`, 'pass', `username '${evaluation.username}'`);
      if (u.claim === 'email' && 'email_verified' in claims) {
        // what the server applies by itself when the username claim is email
        const verified = claims['email_verified'];
        push('email_verified (required with username claim email)', verified === true ? 'pass' : 'fail', `email_verified is ${show(verified)}`);
      }
    }
  } else if (u.expression !== undefined) {
    push(`username expression ${u.expression}`, 'not-evaluated', 'a CEL expression doctor does not evaluate');
  }

  const g = authenticator.groups;
  if (g?.claim !== undefined) {
    const value = claims[g.claim];
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) {
      evaluation.groups = [];
      push(`groups claim ${g.claim}`, 'pass', `no ${g.claim} in the token: no groups`);
    } else if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
      evaluation.groups = (Array.isArray(value) ? (value as string[]) : [value]).map((v) => `${g.prefix ?? ''}${v}`);
      push(`groups claim ${g.claim}`, 'pass', `groups ${show(evaluation.groups)}`);
    } else {
      push(`groups claim ${g.claim}`, 'fail', `the token's ${g.claim} is ${show(value)}; it must be a string or a list of strings`);
    }
  } else if (g?.expression !== undefined) {
    push(`groups expression ${g.expression}`, 'not-evaluated', 'a CEL expression doctor does not evaluate');
  }

  for (const rule of authenticator.claimValidationRules) {
    if (rule.claim !== undefined) {
      const want = rule.requiredValue ?? '';
      const value = claims[rule.claim];
      push(`required claim ${rule.claim}=${want}`, value === want ? 'pass' : 'fail', `${rule.claim} is ${show(value)}`);
    } else if (rule.expression !== undefined) {
      const r = evaluateCel(rule.expression, claims);
      const label = `claim validation rule \`${rule.expression}\``;
      if (!r) push(label, 'not-evaluated', 'a CEL form doctor does not evaluate');
      else push(label, r.value ? 'pass' : 'fail', r.value ? r.why : `${r.why}${rule.message ? `; the server's message: "${rule.message}"` : ''}`);
    }
  }
  for (const rule of authenticator.userValidationRules) {
    push(`user validation rule \`${rule.expression}\``, 'not-evaluated', 'rules over the mapped user are not evaluated');
  }
  return evaluation;
}
