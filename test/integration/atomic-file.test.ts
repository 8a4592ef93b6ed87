import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/adapters/atomic-file.js';

describe('writeFileAtomic', () => {
  it('writes the content with mode 0600 and leaves no temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-atomic-'));
    const path = join(dir, 'config');
    writeFileSync(path, 'old', { mode: 0o644 });
    writeFileAtomic(path, 'new content');
    expect(readFileSync(path, 'utf8')).toBe('new content');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['config']);
  });

  it('creates missing directories with mode 0700', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-atomic-'));
    const path = join(dir, 'a', 'b', 'config');
    writeFileAtomic(path, 'x');
    expect(statSync(join(dir, 'a', 'b')).mode & 0o777).toBe(0o700);
  });

  it('writes through a symlink instead of replacing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-atomic-'));
    const real = join(dir, 'dotfiles-config');
    const link = join(dir, 'config');
    writeFileSync(real, 'old');
    symlinkSync(real, link);
    writeFileAtomic(link, 'new');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(real);
    expect(readFileSync(real, 'utf8')).toBe('new');
  });
});
