import { describe, expect, it } from 'vitest';
import { CliError } from '../../src/errors.js';
import { checkHintedUser, identitiesOf, isHintedUser, wrongUserMessage } from '../../src/core/signed-in-user.js';

describe('signed-in user versus the login hint', () => {
  const jane = { sub: 'CgRqYW5l', email: 'Jane@Example.com', upn: 'jdoe' };

  it('matches the username claim or email, ignoring case and surrounding spaces', () => {
    expect(isHintedUser('jane@example.com', jane, 'email')).toBe(true);
    expect(isHintedUser(' JDOE ', jane, 'upn')).toBe(true);
    expect(isHintedUser('jane@example.com', jane, 'upn')).toBe(true); // email still counts
  });

  it('refuses anyone else, and never matches on sub alone', () => {
    expect(isHintedUser('ops@example.com', jane, 'email')).toBe(false);
    expect(isHintedUser('CgRqYW5l', jane, 'email')).toBe(false);
    expect(isHintedUser('jane@example.com', { sub: 'x' }, 'email')).toBe(false);
  });

  it('lists the usable identities once, username claim first', () => {
    expect(identitiesOf(jane, 'upn')).toEqual(['jdoe', 'Jane@Example.com']);
    expect(identitiesOf(jane, 'email')).toEqual(['Jane@Example.com']);
    expect(identitiesOf({ email: 42 }, 'email')).toEqual([]);
  });

  it('says who signed in, whose user it is, and what to run, on one line', () => {
    const line = wrongUserMessage('dev', 'jane@example.com', { email: 'ops@example.com' }, 'email');
    expect(line).toBe("signed in as ops@example.com, but the kubeconfig user for 'dev' belongs to jane@example.com (--login-hint): nothing was stored; sign in as jane@example.com, or run `k8s-auth login dev --exec` as ops@example.com to make a kubeconfig user of your own");
    expect(wrongUserMessage('dev', 'jane', {}, 'email')).toContain('signed in as another user');
  });

  it('checkHintedUser passes the hinted person and refuses anyone else with exit 7', () => {
    expect(() => checkHintedUser('dev', 'jane@example.com', { email: 'jane@example.com' }, 'email')).not.toThrow();
    let refused: unknown;
    try {
      checkHintedUser('dev', 'jane@example.com', { email: 'ops@example.com' }, 'email');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).exitCode).toBe(7);
    expect((refused as CliError).message).toContain('signed in as ops@example.com');
  });
});
