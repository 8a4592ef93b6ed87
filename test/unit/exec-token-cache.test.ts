// Which cache file an exec-plugin user's arguments name: the one `login --exec` wrote (the args
// are built by the same function), with no catalog and no file read.
import { describe, expect, it } from 'vitest';
import { execTokenCache } from '../../src/adapters/token-cache-read.js';
import { buildCredentialArgs } from '../../src/core/exec-credential.js';
import { cacheFilePath, normalizeCacheKey } from '../../src/core/token-cache-key.js';

const base = { cluster: 'prod', issuer: 'https://dex.example.com/dex', clientId: 'kubernetes', scopes: ['openid', 'email', 'groups'] };

describe('execTokenCache', () => {
  it('names the file of (issuer, client, scopes, login hint) in the directory the args give', () => {
    const args = buildCredentialArgs({ ...base, loginHint: 'jane@example.com', cacheDir: '/srv/cache', extra: ['--catalog', '/etc/c.yaml'] });
    const cache = execTokenCache(args, {});
    const key = normalizeCacheKey({ issuer: base.issuer, clientId: base.clientId, scopes: base.scopes, loginHint: 'jane@example.com' });
    expect(cache?.file).toBe(cacheFilePath('/srv/cache', key));
    expect(cache?.key.loginHint).toBe('jane@example.com');
  });

  it('another person is another file; KUBECACHEDIR applies when the args name no directory', () => {
    const jane = execTokenCache(buildCredentialArgs({ ...base, loginHint: 'jane@example.com' }), { KUBECACHEDIR: '/k' });
    const ops = execTokenCache(buildCredentialArgs({ ...base, loginHint: 'ops@example.com' }), { KUBECACHEDIR: '/k' });
    expect(jane?.directory).toBe('/k/k8s-auth');
    expect(jane?.file).not.toBe(ops?.file);
  });

  it('is undefined for args that are not ours or lack the key', () => {
    expect(execTokenCache(['get-token', '--cluster', 'x'], {})).toBeUndefined();
    expect(execTokenCache(['credential', 'prod', '--catalog', '/etc/c.yaml'], {})).toBeUndefined();
  });
});
