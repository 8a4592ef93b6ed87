import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_TTL_SECONDS, formatDuration, parseDuration, parseTokenTtl } from '../../src/core/duration.js';
import { CliError, ExitCode } from '../../src/errors.js';

function usageError(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    const cliError = error as CliError;
    expect(cliError.exitCode).toBe(ExitCode.USAGE);
    expect(cliError.message).not.toContain('\n');
    return cliError;
  }
  throw new Error('expected a USAGE error');
}

describe('parseDuration', () => {
  it.each([
    ['12h', 43_200],
    ['90m', 5_400],
    ['1h30m', 5_400],
    ['2d', 172_800],
    ['45s', 45],
    ['1d2h3m4s', 93_784],
    [' 10M ', 600],
    ['0s', 0],
    ['1h0m', 3_600],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '   ', '12', '1.5h', '12x', 'h', '1h 30m', '-5m', '30m1h', '1h1h', 'twelve hours', '1h30', '1w'])(
    'rejects %j with one USAGE line naming the flag',
    (text) => {
      expect(usageError(() => parseDuration(text, '--ttl')).message).toContain('--ttl');
    },
  );

  it('suggests units for a bare number', () => {
    expect(usageError(() => parseDuration('30', '--ttl')).message).toMatch(/no unit: write 30m, 30h or 30d/);
  });

  it('rejects numbers too large to be exact', () => {
    expect(usageError(() => parseDuration('99999999999999999999d')).message).toContain('too long');
  });
});

describe('parseTokenTtl', () => {
  it('accepts 10 minutes, the API minimum, and the 2^32 second API maximum', () => {
    expect(parseTokenTtl('10m')).toBe(600);
    expect(parseTokenTtl(`${MAX_TOKEN_TTL_SECONDS}s`)).toBe(MAX_TOKEN_TTL_SECONDS);
  });

  it.each(['9m59s', '5m', '0s', '599s'])('rejects %s as shorter than 10 minutes', (text) => {
    expect(usageError(() => parseTokenTtl(text)).message).toMatch(/^--ttl .* shorter than the 10 minute minimum/);
  });

  it('rejects more than 2^32 seconds', () => {
    expect(usageError(() => parseTokenTtl(`${MAX_TOKEN_TTL_SECONDS + 1}s`)).message).toContain('longer than Kubernetes accepts');
  });

  it('reports malformed input before range', () => {
    expect(usageError(() => parseTokenTtl('12hours', 'K8S_AUTH_TTL')).message).toMatch(/^K8S_AUTH_TTL '12hours' is not a duration/);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [45, '45s'],
    [600, '10m'],
    [5_400, '1h30m'],
    [43_200, '12h'],
    [172_800, '2d'],
    [93_784, '1d2h3m4s'],
    [3_599.6, '1h'],
  ])('%d -> %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('round-trips through parseDuration', () => {
    for (const seconds of [1, 59, 61, 3_601, 86_399, 86_401, 1_000_000]) {
      expect(parseDuration(formatDuration(seconds))).toBe(seconds);
    }
  });
});
