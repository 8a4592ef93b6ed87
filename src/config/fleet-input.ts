import { readFileSync } from 'node:fs';
import { DEFAULT_REDIRECT_PORT } from '../core/clusters/index.js';
import { CliError, ExitCode, describeError } from '../errors.js';

/** A PEM CA file given on the command line: its text and the base64 the catalog stores. */
export function readCaOption(path: string, flag: string): { pem: string; base64: string } {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError(ExitCode.USAGE, `cannot read ${flag} ${path}: ${describeError(error)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new CliError(ExitCode.USAGE, `${flag} ${path} holds no PEM certificate`);
  return { pem, base64: Buffer.from(pem, 'utf8').toString('base64') };
}

export function parseRedirectPort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_REDIRECT_PORT;
  if (!/^\d+$/.test(value)) throw new CliError(ExitCode.USAGE, `--redirect-port '${value}' is not a port number`);
  return Number(value);
}
