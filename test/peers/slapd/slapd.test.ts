// The LDAP peer itself: a private Debian slapd on loopback with the test users and groups that
// Dex's LDAP connector reads (users bind with their own password; groups are groupOfNames).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipUnless } from '../../support/skip.js';
import { slapdAvailable, startSlapd, type SlapdPeer } from './slapd.js';

const run = promisify(execFile);

describe.skipIf(skipUnless(slapdAvailable(), 'Debian slapd/ldap-utils are not installed (bash test/peers/slapd/install.sh)'))('slapd peer', () => {
  let ldap: SlapdPeer;
  beforeAll(async () => {
    ldap = await startSlapd();
  });
  afterAll(async () => {
    await ldap?.stop();
  });

  it('serves the users and their groups (groupOfNames member DNs)', async () => {
    const people = await ldap.ldapsearch('(objectClass=inetOrgPerson)', ['mail']);
    expect(people).toContain('mail: jane@example.com');
    expect(people).toContain('mail: ops@example.com');
    const opsGroups = await ldap.ldapsearch(`(&(objectClass=groupOfNames)(member=uid=ops,${ldap.peopleDN}))`, ['cn']);
    expect(opsGroups.match(/^cn: .*/gm)?.sort()).toEqual(['cn: admins', 'cn: developers']);
    const janeGroups = await ldap.ldapsearch(`(&(objectClass=groupOfNames)(member=uid=jane,${ldap.peopleDN}))`, ['cn']);
    expect(janeGroups.match(/^cn: .*/gm)).toEqual(['cn: developers']);
  });

  it('lets a user bind with her password, refuses a wrong one, and hides password hashes', async () => {
    const dn = `uid=jane,${ldap.peopleDN}`;
    const who = await run('ldapwhoami', ['-x', '-H', ldap.url, '-D', dn, '-w', 'jane-password']);
    expect(who.stdout.trim()).toBe(`dn:${dn}`);
    const wrong = await run('ldapwhoami', ['-x', '-H', ldap.url, '-D', dn, '-w', 'not-her-password']).then(
      () => 'bound',
      (err: { code?: number; stderr?: string }) => `${err.code}: ${err.stderr ?? ''}`,
    );
    expect(wrong).toMatch(/^49: .*Invalid credentials/);
    const asJane = await run('ldapsearch', ['-x', '-LLL', '-H', ldap.url, '-D', dn, '-w', 'jane-password', '-b', ldap.peopleDN, '(uid=ops)', 'userPassword', 'mail']);
    expect(asJane.stdout).toContain('mail: ops@example.com');
    expect(asJane.stdout).not.toContain('userPassword');
  });

  it('stops by pid', async () => {
    const other = await startSlapd();
    expect(() => process.kill(other.pid, 0)).not.toThrow();
    await other.stop();
    expect(() => process.kill(other.pid, 0)).toThrow();
  });
});
