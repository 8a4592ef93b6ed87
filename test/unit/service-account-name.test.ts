import { describe, expect, it } from 'vitest';
import { serviceAccountNameFor } from '../../src/core/service-account-name.js';
import { CliError, ExitCode } from '../../src/errors.js';

const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('serviceAccountNameFor', () => {
  it.each([
    ['janedoe@example.com', 'janedoe-example-com'],
    ['Jane.Doe_foo+k8s@Example.com', 'jane-doe-foo-k8s-example-com'],
    ['--x__y--', 'x-y'],
    ['12345', '12345'],
    ['ÜMLAUT@exämple.com', 'mlaut-ex-mple-com'],
  ])('%s -> %s', (identity, expected) => {
    expect(serviceAccountNameFor(identity)).toBe(expected);
  });

  it('cuts long identities to 63 characters with a hash suffix, keeping distinct identities distinct', () => {
    const a = `${'a'.repeat(80)}@example.com`;
    const b = `${'a'.repeat(80)}@example.org`;
    const nameA = serviceAccountNameFor(a);
    const nameB = serviceAccountNameFor(b);
    expect(nameA.length).toBeLessThanOrEqual(63);
    expect(nameA).toMatch(DNS_1123_LABEL);
    expect(nameA).not.toBe(nameB);
    expect(serviceAccountNameFor(a)).toBe(nameA);
  });

  it('keeps a cut name valid when the cut lands on a separator', () => {
    const identity = `${'ab-'.repeat(30)}@example.com`;
    const name = serviceAccountNameFor(identity);
    expect(name).toMatch(DNS_1123_LABEL);
    expect(name.length).toBeLessThanOrEqual(63);
  });

  it('refuses identities with nothing usable', () => {
    for (const identity of ['', '@@@', '+_.']) {
      const attempt = () => serviceAccountNameFor(identity);
      expect(attempt).toThrow(CliError);
      try {
        attempt();
      } catch (error) {
        expect((error as CliError).exitCode).toBe(ExitCode.USAGE);
      }
    }
  });
});
