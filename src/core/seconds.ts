/**
 * The one syntax of every flag and variable that takes a time limit or margin (--timeout,
 * --http-timeout, --skew, --lock-timeout, K8S_AUTH_SIGNIN_COOLDOWN; docs/usage.md#durations):
 * a number of seconds, optionally followed by one unit s, m or h — `90`, `90s`, `2m`, `1h`,
 * `1.5`, `0.5m`. Up to three decimals (a millisecond); no sign, no exponent, no compound
 * `1h30m` (that is the token lifetime syntax of `--ttl`, core/duration.ts).
 * Pure and import-free: the exec hot path reads `--skew` with it.
 */
export const SECONDS_EXAMPLES = '90, 90s, 2m, 1h';

const FACTOR: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };

/** Seconds in `text`, or undefined when it is not in the syntax above (the caller names the flag). */
export function parseSeconds(text: string): number | undefined {
  const match = /^(\d{1,7}(?:\.\d{1,3})?)([smh])?$/i.exec(text.trim());
  if (!match) return undefined;
  const factor = FACTOR[(match[2] ?? 's').toLowerCase()] ?? 1;
  // rounded to the millisecond: 0.1m is 6 s, not 6.000000000000001
  return Math.round(Number(match[1]) * factor * 1000) / 1000;
}

/** The input as it goes into a one-line message: control characters (a newline from `$'1h\n'`) escaped. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
