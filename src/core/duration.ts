import { CliError, ExitCode } from '../errors.js';
import { printable as shown } from './seconds.js';

/**
 * Token lifetimes as people write them: 12h, 90m, 1h30m, 2d, 45s. Units are d, h, m, s, each at
 * most once and largest first (so "1h30m" but never "30m1h" or "1h1h", which are typos more
 * often than intent). Whole numbers only: "1.5h" is better written "1h30m", and whole seconds
 * are what the TokenRequest API takes.
 */
const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
type Unit = keyof typeof UNIT_SECONDS;
const UNIT_ORDER: readonly Unit[] = ['d', 'h', 'm', 's'];

/** The TokenRequest API refuses lifetimes under 10 minutes (and so does Vault's k8s engine). */
export const MIN_TOKEN_TTL_SECONDS = 600;
/** The API validates expirationSeconds against 2^32; anything longer is rejected server-side. */
export const MAX_TOKEN_TTL_SECONDS = 2 ** 32;

const EXAMPLES = 'e.g. 12h, 90m, 1h30m, 2d';

/** Seconds in `text`; throws a one-line USAGE error naming `what` (e.g. "--ttl") when malformed. */
export function parseDuration(rawText: string, what = 'duration'): number {
  const text = shown(rawText);
  const input = rawText.trim().toLowerCase();
  if (input === '') throw usage(`${what} is empty: give a duration, ${EXAMPLES}`);
  if (/^\d+$/.test(input)) throw usage(`${what} '${text}' has no unit: write ${input}m, ${input}h or ${input}d (${EXAMPLES})`);
  const parts = input.match(/\d+[a-z]+|[^\d]+|\d+$/g) ?? [];
  let total = 0;
  let previous = -1;
  for (const part of parts) {
    const match = /^(\d+)([dhms])$/.exec(part);
    if (!match) throw usage(`${what} '${text}' is not a duration: use whole numbers with units d, h, m, s (${EXAMPLES})`);
    const unit = match[2] as Unit;
    const position = UNIT_ORDER.indexOf(unit);
    if (position <= previous) throw usage(`${what} '${text}' repeats or misorders its units: write the largest unit first, each once (${EXAMPLES})`);
    previous = position;
    total += Number(match[1]) * UNIT_SECONDS[unit];
  }
  if (!Number.isSafeInteger(total)) throw usage(`${what} '${text}' is too long`);
  return total;
}

/**
 * A token lifetime in seconds, checked before any request is made: at least 10 minutes (the API
 * minimum) and at most 2^32 seconds (the API's hard limit; the server may cap far lower).
 */
export function parseTokenTtl(text: string, what = '--ttl'): number {
  const seconds = parseDuration(text, what);
  text = shown(text);
  if (seconds < MIN_TOKEN_TTL_SECONDS) {
    throw usage(`${what} ${text} is shorter than the 10 minute minimum that Kubernetes accepts: ask for 10m or more`);
  }
  if (seconds > MAX_TOKEN_TTL_SECONDS) {
    throw usage(`${what} ${text} is longer than Kubernetes accepts (2^32 seconds): ask for less`);
  }
  return seconds;
}

/** The shortest form parseDuration reads back to the same value: 5400 -> "1h30m", 0 -> "0s". */
export function formatDuration(totalSeconds: number): string {
  let rest = Math.max(0, Math.round(totalSeconds));
  if (rest === 0) return '0s';
  let out = '';
  for (const unit of UNIT_ORDER) {
    const size = UNIT_SECONDS[unit];
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out;
}

function usage(message: string): CliError {
  return new CliError(ExitCode.USAGE, message);
}
