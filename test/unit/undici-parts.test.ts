import { describe, expect, it } from 'vitest';
import * as undici from 'undici';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import { fetch } from 'undici/lib/web/fetch/index.js';

// src/adapters/http.ts loads these two files of undici instead of its index (start-up time).
// If an undici upgrade moves them, this fails before any user sees a broken import.
describe('the undici parts http.ts imports', () => {
  it('are the EnvHttpProxyAgent the package exports and the fetch its index wraps', () => {
    expect(EnvHttpProxyAgent).toBe(undici.EnvHttpProxyAgent);
    // the index wraps this fetch only to re-capture stack traces
    expect(typeof fetch).toBe('function');
    expect(fetch.name).toBe('fetch');
    expect(undici.fetch.toString()).toContain('fetchImpl');
  });
});
