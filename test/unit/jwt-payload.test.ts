import { describe, expect, it } from 'vitest';
import { readJwtPayload } from '../../src/core/jwt-payload.js';
import { rfc3339 } from '../../src/core/exec-credential.js';

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const jwt = (payload: unknown): string => `${b64({ alg: 'RS256' })}.${b64(payload)}.sig`;

describe('readJwtPayload (the one unverified JWT reader)', () => {
  it('returns the payload object of a three-part token', () => {
    expect(readJwtPayload(jwt({ exp: 1700000000, email: 'jane@example.com', groups: ['a'] }))).toEqual({ exp: 1700000000, email: 'jane@example.com', groups: ['a'] });
  });
  it.each([
    ['two parts', `${b64({})}.${b64({ exp: 1 })}`],
    ['four parts', `${jwt({ exp: 1 })}.x`],
    ['an empty payload', `${b64({})}..sig`],
    ['a payload that is not JSON', `${b64({})}.${b64('not json')}.sig`],
    ['a JSON array', jwt([1, 2])],
    ['a JSON number', jwt(5)],
    ['null', jwt(null)],
  ])('undefined for %s', (_what, token) => {
    expect(readJwtPayload(token)).toBeUndefined();
  });
});

describe('rfc3339', () => {
  it('drops fractions (floors) for a Date and for milliseconds alike', () => {
    const ms = Date.UTC(2030, 0, 2, 3, 4, 5, 999);
    expect(rfc3339(ms)).toBe('2030-01-02T03:04:05Z');
    expect(rfc3339(new Date(ms))).toBe('2030-01-02T03:04:05Z');
  });
});
