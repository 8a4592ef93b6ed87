// A private OpenLDAP server (Debian's slapd, installed by ./install.sh) for Dex's LDAP connector.
//
//   slapdAvailable(): boolean
//   startSlapd({ users?, port? }) → SlapdPeer
//     host '127.0.0.1:<port>', url 'ldap://127.0.0.1:<port>/', baseDN 'dc=example,dc=com',
//     peopleDN 'ou=People,dc=example,dc=com', groupsDN 'ou=Groups,dc=example,dc=com',
//     bindDN 'cn=admin,dc=example,dc=com', bindPassword, users (as loaded), ldapsearch(filter, attrs),
//     logFile, pid, stop().
//
// Nothing of the system service is used: a slapd.conf and an mdb database in a temp dir, the
// LDIF loaded with slapadd before the server starts, `slapd -d 0 -f slapd.conf -h ldap://…`
// in the foreground, ready when an authenticated ldapsearch finds the users, stopped by pid.
// Users are inetOrgPerson entries (uid, mail, cn, userPassword as {SSHA}); groups are
// groupOfNames with member DNs. Default users (the same people as test/support/oidc-users.ts):
// jane@example.com / jane-password in developers; ops@example.com / ops-password in admins and
// developers.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort, isExecutable, startPeerProcess, waitUntilReady } from '../process.js';

const run = promisify(execFile);

export const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SLAPPASSWD = '/usr/sbin/slappasswd';
const LDAPSEARCH = '/usr/bin/ldapsearch';
const SCHEMA_DIR = '/etc/ldap/schema';
const MODULE_DIR = '/usr/lib/ldap';

export interface LdapUser {
  uid: string;
  email: string;
  password: string;
  name: string;
  groups: string[];
}

export const DEFAULT_LDAP_USERS: readonly LdapUser[] = [
  { uid: 'jane', email: 'jane@example.com', password: 'jane-password', name: 'Jane Doe', groups: ['developers'] },
  { uid: 'ops', email: 'ops@example.com', password: 'ops-password', name: 'Ops Person', groups: ['admins', 'developers'] },
];

export interface SlapdPeer {
  host: string;
  url: string;
  port: number;
  baseDN: string;
  peopleDN: string;
  groupsDN: string;
  bindDN: string;
  bindPassword: string;
  users: readonly LdapUser[];
  pid: number;
  logFile: string;
  /** ldapsearch as the admin under baseDN; returns the LDIF text */
  ldapsearch(filter: string, attrs?: string[]): Promise<string>;
  stop(): Promise<void>;
}

export function slapdAvailable(): boolean {
  return [SLAPD, SLAPADD, SLAPPASSWD, LDAPSEARCH].every(isExecutable);
}

function hashPassword(password: string): string {
  // slappasswd reads the secret from a file (-T) so it never shows in argv
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-slappasswd-'));
  try {
    const file = join(dir, 'secret');
    writeFileSync(file, password, { mode: 0o600 });
    return execFileSync(SLAPPASSWD, ['-h', '{SSHA}', '-T', file], { encoding: 'utf8' }).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ldif(baseDN: string, users: readonly LdapUser[]): string {
  const people = `ou=People,${baseDN}`;
  const groupsDN = `ou=Groups,${baseDN}`;
  const dc = /^dc=([^,]+)/.exec(baseDN)?.[1] ?? 'example';
  const parts = [
    `dn: ${baseDN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: ${dc}\n`,
    `dn: ${people}\nobjectClass: organizationalUnit\nou: People\n`,
    `dn: ${groupsDN}\nobjectClass: organizationalUnit\nou: Groups\n`,
  ];
  for (const u of users) {
    const sn = u.name.split(' ').slice(-1)[0] ?? u.uid;
    parts.push(
      `dn: uid=${u.uid},${people}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.name}\nsn: ${sn}\nmail: ${u.email}\nuserPassword: ${hashPassword(u.password)}\n`,
    );
  }
  const groupNames = [...new Set(users.flatMap((u) => u.groups))].sort();
  for (const g of groupNames) {
    const members = users.filter((u) => u.groups.includes(g)).map((u) => `member: uid=${u.uid},${people}`);
    parts.push(`dn: cn=${g},${groupsDN}\nobjectClass: groupOfNames\ncn: ${g}\n${members.join('\n')}\n`);
  }
  return parts.join('\n');
}

export async function startSlapd(opts: { users?: readonly LdapUser[]; port?: number } = {}): Promise<SlapdPeer> {
  const users = opts.users ?? DEFAULT_LDAP_USERS;
  const baseDN = 'dc=example,dc=com';
  const bindDN = `cn=admin,${baseDN}`;
  const bindPassword = 'ldap-admin-password';
  const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-slapd-'));
  const dbDir = join(dir, 'db');
  mkdirSync(dbDir, { mode: 0o700 });
  const conf = join(dir, 'slapd.conf');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include ${SCHEMA_DIR}/${s}.schema`),
      `pidfile ${join(dir, 'slapd.pid')}`,
      `argsfile ${join(dir, 'slapd.args')}`,
      `modulepath ${MODULE_DIR}`,
      'moduleload back_mdb',
      'database mdb',
      'maxsize 67108864',
      `suffix "${baseDN}"`,
      `rootdn "${bindDN}"`,
      `rootpw ${hashPassword(bindPassword)}`,
      `directory ${dbDir}`,
      'index objectClass,uid,mail,member eq',
      // users bind with their own password; nobody reads a password hash; the rest is readable
      'access to attrs=userPassword by self write by anonymous auth by * none',
      'access to * by * read',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const ldifFile = join(dir, 'data.ldif');
  writeFileSync(ldifFile, ldif(baseDN, users), { mode: 0o600 });
  try {
    await run(SLAPADD, ['-f', conf, '-l', ldifFile]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapadd failed: ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }

  const port = opts.port ?? (await freeLoopbackPort());
  const url = `ldap://127.0.0.1:${port}/`;
  const logFile = join(dir, 'slapd.log');
  const proc = startPeerProcess('slapd', SLAPD, ['-d', '0', '-f', conf, '-h', url], { logFile });
  const ldapsearch = async (filter: string, attrs: string[] = []): Promise<string> => {
    const { stdout } = await run(LDAPSEARCH, ['-x', '-LLL', '-H', url, '-D', bindDN, '-w', bindPassword, '-b', baseDN, filter, ...attrs], {
      timeout: 10_000,
    });
    return stdout;
  };
  await waitUntilReady(proc, async () => (await ldapsearch('(objectClass=inetOrgPerson)', ['uid'])).includes(`uid: ${users[0]?.uid ?? ''}`), 20_000, 100);
  return {
    host: `127.0.0.1:${port}`,
    url,
    port,
    baseDN,
    peopleDN: `ou=People,${baseDN}`,
    groupsDN: `ou=Groups,${baseDN}`,
    bindDN,
    bindPassword,
    users,
    pid: proc.pid,
    logFile,
    ldapsearch,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
