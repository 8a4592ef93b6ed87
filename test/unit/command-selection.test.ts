import { describe, expect, it } from 'vitest';
import { registrationsFor } from '../../src/cli.js';
import { commandRegistrations } from '../../src/commands/index.js';

const names = (args: string[]) => registrationsFor(args).flatMap((r) => r.names);

describe('registrationsFor', () => {
  it('loads only the named command', () => {
    expect(names(['token', '--ttl', '12h'])).toEqual(['token']);
    expect(names(['-v', 'rbac', 'apply'])).toEqual(['rbac']);
  });

  it('loads every command for help, completion, no command and unknown words', () => {
    const all = commandRegistrations.length;
    for (const args of [[], ['--help'], ['help', 'login'], ['completion', 'bash'], ['__complete', 'clusters'], ['logn']]) {
      expect(registrationsFor(args)).toHaveLength(all);
    }
  });
});
