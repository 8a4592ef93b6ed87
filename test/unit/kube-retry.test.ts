// The one retry policy for Kubernetes API calls (issue 19, point 5), with fake calls and an
// injected sleep: no network.
import { describe, expect, it } from 'vitest';
import { withKubeRetry } from '../../src/adapters/kube-errors.js';

const apiError = (code: number): Error => Object.assign(new Error(`HTTP ${code}`), { code, body: '' });
const timeout = (): Error => Object.assign(new Error('no answer within 1000 ms'), { name: 'TimeoutError' });

function failing(errors: Error[], answer = 'ok'): { call: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    call: async () => {
      const error = errors[calls];
      calls += 1;
      if (error) throw error;
      return answer;
    },
    calls: () => calls,
  };
}

describe('withKubeRetry', () => {
  const sleep = async (): Promise<void> => undefined;

  it('retries a read on 5xx and dropped connections, 4 attempts in all', async () => {
    const fake = failing([apiError(500), new Error('socket hang up'), apiError(502), apiError(500)]);
    await expect(withKubeRetry(fake.call, { idempotent: true, sleep })).rejects.toThrow('HTTP 500');
    expect(fake.calls()).toBe(4);
  });

  it('a write is retried only on 429 and 503', async () => {
    const writes = failing([apiError(503), apiError(500)]);
    await expect(withKubeRetry(writes.call, { idempotent: false, sleep })).rejects.toThrow('HTTP 500');
    expect(writes.calls()).toBe(2);
  });

  it('firstFailure: a caller that made attempt 1 itself gets attempts 2–4 under the same rule', async () => {
    const fake = failing([apiError(500), apiError(500), apiError(500)]);
    await expect(withKubeRetry(fake.call, { idempotent: true, sleep, firstFailure: { error: apiError(500) } })).rejects.toThrow('HTTP 500');
    expect(fake.calls()).toBe(3);
    const recovers = failing([apiError(503)]);
    await expect(withKubeRetry(recovers.call, { idempotent: true, sleep, firstFailure: { error: apiError(503) } })).resolves.toBe('ok');
    expect(recovers.calls()).toBe(2);
  });

  it('firstFailure that is not retryable is thrown without another call', async () => {
    const fake = failing([]);
    await expect(withKubeRetry(fake.call, { idempotent: true, sleep, firstFailure: { error: apiError(403) } })).rejects.toThrow('HTTP 403');
    expect(fake.calls()).toBe(0);
  });

  it('a timeout is retried for a read unless retryTimeouts is false', async () => {
    const read = failing([timeout()]);
    await expect(withKubeRetry(read.call, { idempotent: true, sleep })).resolves.toBe('ok');
    expect(read.calls()).toBe(2);
    const mint = failing([]);
    await expect(withKubeRetry(mint.call, { idempotent: true, retryTimeouts: false, sleep, firstFailure: { error: timeout() } })).rejects.toThrow('no answer within');
    expect(mint.calls()).toBe(0);
  });
});
