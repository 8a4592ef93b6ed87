import { describe, expect, it } from 'vitest';
import { DATA_FORMATS, outputOption, resolveOutput } from '../../src/config/output-options.js';
import { ExitCode } from '../../src/errors.js';
import { cliErrorOf } from '../support/cli-error.js';

const TOKEN_FORMATS = ['token', 'json', 'yaml', 'exec-credential', 'kubeconfig'] as const;

describe('-o and K8S_AUTH_OUTPUT: one rule for every data command', () => {
  it('-o wins over K8S_AUTH_OUTPUT', () => {
    expect(resolveOutput('yaml', DATA_FORMATS, 'text', { K8S_AUTH_OUTPUT: 'json' })).toEqual({ format: 'yaml', source: 'flag' });
  });

  it('K8S_AUTH_OUTPUT sets the default when the command has that format', () => {
    expect(resolveOutput(undefined, DATA_FORMATS, 'text', { K8S_AUTH_OUTPUT: 'json' })).toEqual({ format: 'json', source: 'env' });
    expect(resolveOutput(undefined, TOKEN_FORMATS, 'token', { K8S_AUTH_OUTPUT: ' yaml ' })).toEqual({ format: 'yaml', source: 'env' });
    expect(resolveOutput(undefined, TOKEN_FORMATS, 'token', { K8S_AUTH_OUTPUT: 'exec-credential' })).toEqual({ format: 'exec-credential', source: 'env' });
  });

  it('a K8S_AUTH_OUTPUT value the command does not have is ignored for that command', () => {
    expect(resolveOutput(undefined, DATA_FORMATS, 'text', { K8S_AUTH_OUTPUT: 'exec-credential' })).toEqual({ format: 'text', source: 'default' });
    expect(resolveOutput(undefined, TOKEN_FORMATS, 'token', { K8S_AUTH_OUTPUT: 'text' })).toEqual({ format: 'token', source: 'default' });
    expect(resolveOutput(undefined, DATA_FORMATS, 'text', { K8S_AUTH_OUTPUT: 'xml' })).toEqual({ format: 'text', source: 'default' });
    expect(resolveOutput(undefined, DATA_FORMATS, 'text', {})).toEqual({ format: 'text', source: 'default' });
  });

  it('an -o value the command does not have is a usage error (exit 2)', () => {
    const error = cliErrorOf(() => resolveOutput('xml', DATA_FORMATS, 'text', {}));
    expect(error.exitCode).toBe(ExitCode.USAGE);
    expect(error.message).toBe("unknown output format 'xml': use one of text, json, yaml");
  });

  it('the option lists the formats, the default and the variable, and leaves the variable to resolveOutput', () => {
    const option = outputOption(TOKEN_FORMATS, 'token');
    expect(option.flags).toBe('-o, --output <format>');
    expect(option.argChoices).toEqual([...TOKEN_FORMATS]);
    expect(option.description).toBe('token, json, yaml, exec-credential or kubeconfig (default: $K8S_AUTH_OUTPUT when it names one of these, else token)');
    expect(option.envVar).toBeUndefined();
    expect(outputOption(DATA_FORMATS, 'text').description).toMatch(/^text, json or yaml \(default: \$K8S_AUTH_OUTPUT when it names one of these, else text\)$/);
  });
});
