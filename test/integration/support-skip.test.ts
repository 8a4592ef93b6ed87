import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { kubectlPaths, repoRoot, skipUnless } from '../support/skip.js';

describe('support: skip helper', () => {
  it('prints one SKIPPED line naming the calling test file when the condition fails, nothing otherwise', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const requireAll = process.env['K8S_AUTH_REQUIRE_ALL'];
    delete process.env['K8S_AUTH_REQUIRE_ALL'];
    try {
      expect(skipUnless(true, 'never printed')).toBe(false);
      expect(write).not.toHaveBeenCalled();
      expect(skipUnless(false, 'no widget here')).toBe(true);
      expect(skipUnless(false, 'named', 'my suite')).toBe(true);
      expect(write.mock.calls.map((c) => String(c[0]))).toEqual([
        'SKIPPED test/integration/support-skip.test.ts: no widget here\n',
        'SKIPPED my suite: named\n',
      ]);
    } finally {
      write.mockRestore();
      if (requireAll !== undefined) process.env['K8S_AUTH_REQUIRE_ALL'] = requireAll;
    }
  });

  it('under K8S_AUTH_REQUIRE_ALL=1 never skips: the suite runs and fails on the missing peer', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const requireAll = process.env['K8S_AUTH_REQUIRE_ALL'];
    process.env['K8S_AUTH_REQUIRE_ALL'] = '1';
    try {
      expect(skipUnless(false, 'no widget here', 'my suite')).toBe(false);
      expect(write.mock.calls.map((c) => String(c[0]))).toEqual(['REQUIRED my suite: no widget here (K8S_AUTH_REQUIRE_ALL=1, so it runs and fails)\n']);
    } finally {
      write.mockRestore();
      if (requireAll === undefined) delete process.env['K8S_AUTH_REQUIRE_ALL'];
      else process.env['K8S_AUTH_REQUIRE_ALL'] = requireAll;
    }
  });

  it('points at the unpacked Debian kubectl binaries under .tools/bin, never the system kubectl', () => {
    const k = kubectlPaths();
    expect(k.v1_20.path).toBe(join(repoRoot, '.tools', 'bin', 'kubectl-1.20'));
    expect(k.v1_32.path).toBe(join(repoRoot, '.tools', 'bin', 'kubectl-1.32'));
    expect(k.all.map((b) => b.version)).toEqual(['1.20', '1.32']);
    for (const b of k.all) expect(typeof b.available).toBe('boolean');
  });
});
