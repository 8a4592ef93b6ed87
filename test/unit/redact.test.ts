import { afterEach, describe, expect, it } from 'vitest';
import { clearSecretsForTest, redact, registerSecret } from '../../src/ui/redact.js';

afterEach(() => clearSecretsForTest());

describe('redact', () => {
  it('masks registered secrets wherever they appear', () => {
    registerSecret('refresh-abcdef123');
    expect(redact('sending refresh-abcdef123 to refresh-abcdef123')).toBe('sending [redacted] to [redacted]');
  });

  it('masks JWT-shaped strings nobody registered', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXZhbHVl';
    expect(redact(`Authorization: Bearer ${jwt}`)).toBe('Authorization: Bearer [redacted-jwt]');
  });

  it('leaves short values and ordinary text alone', () => {
    registerSecret('abc');
    expect(redact('abc def')).toBe('abc def');
  });
});
