// The parsers that read what providers, Vault, the API server and kubeconfig files send us, each
// with the contract the rest of the code relies on. A broken contract is a finding:
//  - a parser that says "bad input" does so with a CliError (one line, a documented exit code),
//    never a TypeError or RangeError (a crash with a stack trace);
//  - parsers that must not throw at all (the hot path's) do not;
//  - the narrow kubeconfig/catalog YAML reader, when it accepts a text, means exactly what the
//    yaml library says (a differential oracle: it exists only to skip loading that library);
//  - text from a provider, once sanitized, holds no control character and is bounded.
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml, parseDocument } from 'yaml';
import { grantedFrom } from '../../src/adapters/token-request.js';
import { parseCatalogFile, catalogFileNames, catalogFileEntry } from '../../src/core/catalog-file.js';
import { parseClusterEntry } from '../../src/core/cluster-entry.js';
import { parseDuration, parseTokenTtl } from '../../src/core/duration.js';
import { parseExecInfo, readCredentialFlags } from '../../src/core/exec-credential.js';
import { decodeJwtClaims, summarizeClaims } from '../../src/core/id-token-claims.js';
import { checkKubeconfig } from '../../src/core/kubeconfig-merge.js';
import { checkPlainKubeconfig } from '../../src/core/kubeconfig-shape.js';
import { sanitizeProviderText } from '../../src/core/oauth-callback.js';
import { parseRbacMapping } from '../../src/core/rbac/mapping.js';
import { parseSimpleYaml } from '../../src/core/simple-yaml.js';
import { parseAnyCachedTokens } from '../../src/core/token-cache-entry.js';
import { CliError, ExitCode } from '../../src/errors.js';
import type { FuzzTarget } from './engine.js';

const EXIT_CODES = new Set<number>(Object.values(ExitCode));

/** Runs `parse`; anything thrown must be a CliError with a documented code and a one-line message. */
function onlyCliErrors(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    if (!(error instanceof CliError)) throw new Error(`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} instead of a CliError`);
    if (!EXIT_CODES.has(error.exitCode)) throw new Error(`CliError with undocumented exit code ${error.exitCode}`);
    if (error.message === '' || error.message.includes('\n')) throw new Error(`CliError message is not one line: ${JSON.stringify(error.message.slice(0, 120))}`);
  }
}

function noThrow(parse: () => unknown): void {
  try {
    parse();
  } catch (error) {
    throw new Error(`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)} (must never throw)`);
  }
}

/** JSON text → value, or the text itself when it is not JSON (the parsers also see strings). */
function jsonOrText(input: string): unknown {
  try {
    return JSON.parse(input) as unknown;
  } catch {
    return input;
  }
}

const YAML_TOKENS = ['\n', '  ', '- ', ': ', ':', '#', ' # c', '|', '|-', '>', "'", '"', '{', '}', '[', ']', ',', '&a ', '*a', '!!str ', '? ', '---\n', '...\n', '~', 'null', 'true', 'True', 'yes', '0x1F', '0o17', '1e3', '.inf', '-.5', '+1', '\t', '\\n', 'apiVersion: v1', 'kind: Config', 'clusters:', 'users:', 'contexts:', 'current-context: ', '- name: ', 'cluster:', 'server: ', 'user:', 'token: ', 'exec:', 'args:'];
const JSON_TOKENS = ['{', '}', '[', ']', ',', ':', '"', '\\"', '\\u0000', '\\ud800', 'null', 'true', 'false', '0', '-0', '1e308', '1e999', '""', '"a"', '{}', '[]', '"__proto__"', '"constructor"'];

const KUBECONFIG_SEED = [
  'apiVersion: v1',
  'kind: Config',
  'current-context: dev',
  'clusters:',
  '- name: dev',
  '  cluster:',
  '    server: https://127.0.0.1:6443',
  '    certificate-authority-data: LS0tLS1CRUdJTg==',
  'users:',
  '- name: jane@dev',
  '  user:',
  '    exec:',
  '      apiVersion: client.authentication.k8s.io/v1',
  '      command: k8s-auth',
  '      args:',
  '      - credential',
  '      - dev',
  '      installHint: |',
  '        npm install -g k8s-auth',
  '        then log in',
  '      interactiveMode: IfAvailable',
  'contexts:',
  '- name: dev',
  '  context:',
  '    cluster: dev',
  '    user: jane@dev',
  '    namespace: default',
  '',
].join('\n');

const CATALOG_SEED = [
  'clusters:',
  '  prod:',
  '    server: https://prod.example.com:6443',
  '    issuer-url: https://dex.example.com/dex',
  '    client-id: k8s-auth',
  '    extra-scopes: groups offline_access',
  '    redirect-uri: http://127.0.0.1:18000/callback',
  '    namespace: team-a',
  '',
].join('\n');

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: 'simple-yaml-vs-yaml',
    reads: 'kubeconfig and catalog files (the narrow reader of the hot path, checked against the yaml library)',
    seeds: [KUBECONFIG_SEED, CATALOG_SEED, '{"apiVersion":"v1","kind":"Config"}', 'a: b\nc:\n- d\n- e: f\n', 'key: |-\n  one\n  two\nnext: x\n', ''],
    dictionary: YAML_TOKENS,
    check(input) {
      let narrow;
      try {
        narrow = parseSimpleYaml(input);
      } catch (error) {
        throw new Error(`parseSimpleYaml threw ${error instanceof Error ? error.name : typeof error}: ${String(error instanceof Error ? error.message : error)}`);
      }
      if (narrow === undefined) return; // declined: the yaml library decides
      let full: unknown;
      try {
        full = parseYaml(input, { prettyErrors: false });
      } catch (error) {
        throw new Error(`parseSimpleYaml accepted a text the yaml library rejects (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
      }
      // the yaml library reads an empty document as null, where the narrow reader may say ''
      if ((narrow === null || narrow === '') && (full === null || full === undefined || full === '')) return;
      if (!isDeepStrictEqual(narrow, full)) throw new Error(`parseSimpleYaml disagrees with the yaml library: ${JSON.stringify(narrow)?.slice(0, 160)} vs ${JSON.stringify(full)?.slice(0, 160)}`);
    },
  },
  {
    name: 'kubeconfig-shape',
    reads: 'kubeconfig files (checkKubeconfig on the yaml Document, checkPlainKubeconfig on the narrow reader)',
    seeds: [KUBECONFIG_SEED, 'clusters: {}\n', '- a\n', 'current-context: [x]\n', ''],
    dictionary: YAML_TOKENS,
    check(input) {
      onlyCliErrors(() => {
        const doc = parseDocument(input, { prettyErrors: false, keepSourceTokens: false });
        checkKubeconfig(doc, 'fuzz');
      });
      const plain = parseSimpleYaml(input);
      if (plain !== undefined) onlyCliErrors(() => checkPlainKubeconfig(plain, 'fuzz'));
    },
  },
  {
    name: 'catalog-file',
    reads: 'the cluster catalog file (every entry validated as login would)',
    seeds: [CATALOG_SEED, 'clusters:\n  a:\n    server: x\n', 'clusters: []\n', ''],
    dictionary: [...YAML_TOKENS, 'issuer-url: ', 'client-id: ', 'client-secret: ', 'idp-certificate-authority-data: ', 'certificate-authority-data: ', 'extra-scopes: ', 'redirect-uri: ', 'username-claim: ', 'groups-claim: ', 'http://', 'https://', '127.0.0.1', '[::1]', 'localhost', ':0', ':65536'],
    check(input) {
      onlyCliErrors(() => {
        // as adapters/file-catalog.ts reads it: anything the yaml library throws (a syntax
        // error, an unresolved alias's ReferenceError) becomes its one CATALOG line there
        let raw: unknown;
        try {
          raw = parseSimpleYaml(input) ?? parseYaml(input, { prettyErrors: false });
        } catch {
          return;
        }
        const content = parseCatalogFile(raw, 'fuzz.yaml');
        for (const name of catalogFileNames(content)) onlyCliErrors(() => catalogFileEntry(content, name, 'fuzz.yaml'));
      });
    },
  },
  {
    name: 'vault-cluster-entry',
    reads: 'a catalog entry as Vault KV v2 returns it (the data map, JSON)',
    seeds: [
      JSON.stringify({ server: 'https://prod.example.com:6443', 'issuer-url': 'https://dex.example.com/dex', 'client-id': 'k8s-auth', 'extra-scopes': 'groups', 'certificate-authority-data': 'LS0t' }),
      JSON.stringify({ server: 1, 'issuer-url': null }),
      '[]',
      '"prod"',
    ],
    dictionary: [...JSON_TOKENS, '"server"', '"issuer-url"', '"client-id"', '"client-secret"', '"extra-scopes"', '"redirect-uri"', '"https://x"', '"http://127.0.0.1:1/cb"'],
    check(input) {
      const raw = jsonOrText(input);
      onlyCliErrors(() => parseClusterEntry('prod', raw, 'Vault secret/k8s-auth/clusters/prod'));
    },
  },
  {
    name: 'token-cache-entry',
    reads: 'token cache files (parseAnyCachedTokens, also on the hot path: must never throw)',
    seeds: [
      JSON.stringify({ version: 1, key: { issuer: 'https://dex.example.com/dex', clientId: 'k8s-auth', scopes: ['openid', 'email'] }, idToken: 'eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2ln', expiresAt: '2100-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z' }),
      '{}',
      'not json',
    ],
    dictionary: [...JSON_TOKENS, '"version"', '"key"', '"idToken"', '"refreshToken"', '"expiresAt"', '"clusters"', '"connection"', '"scopes"', '"loginHint"', '"2026-13-45T99:99:99Z"'],
    check(input) {
      noThrow(() => parseAnyCachedTokens(input));
    },
  },
  {
    name: 'exec-info',
    reads: 'KUBERNETES_EXEC_INFO from kubectl, and the exec plugin args (hot path: must never throw)',
    seeds: [JSON.stringify({ kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', spec: { interactive: true, cluster: { server: 'https://x' } } }), '', 'null'],
    dictionary: [...JSON_TOKENS, '"kind"', '"ExecCredential"', '"apiVersion"', '"client.authentication.k8s.io/v1beta1"', '"spec"', '"interactive"', '--issuer', '--client-id', '--scopes', '--token-cache-dir', '--login-hint', '=', ' '],
    check(input) {
      noThrow(() => parseExecInfo(input));
      noThrow(() => readCredentialFlags(input.split(' ')));
      noThrow(() => readCredentialFlags(input.split(' '), { hotPath: false }));
    },
  },
  {
    name: 'id-token-claims',
    reads: 'ID tokens stored in kubeconfigs and caches (decoded for whoami, logout, rbac)',
    seeds: ['eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL3giLCJzdWIiOiJqYW5lIiwiZW1haWwiOiJqQHgiLCJncm91cHMiOlsiZGV2Il0sImV4cCI6NDEwMjQ0NDgwMH0.c2ln', 'a.b.c', '..'],
    dictionary: ['.', 'eyJ', 'e30', 'W10', 'bnVsbA', '-', '_', '=', 'A', 'z'],
    check(input) {
      onlyCliErrors(() => summarizeClaims(decodeJwtClaims(input)));
      // and the payload as JSON directly, the shape providers control
      const payload = Buffer.from(input, 'utf8').toString('base64url');
      onlyCliErrors(() => summarizeClaims(decodeJwtClaims(`e30.${payload}.c2ln`)));
    },
  },
  {
    name: 'token-request-answer',
    reads: "the API server's TokenRequest answer (status.token, status.expirationTimestamp)",
    seeds: [JSON.stringify({ kind: 'TokenRequest', status: { token: 'eyJ.a.b', expirationTimestamp: '2026-12-03T20:00:00Z' } }), '{"status":{}}', 'null'],
    dictionary: [...JSON_TOKENS, '"status"', '"token"', '"expirationTimestamp"', '"2026-12-03T20:00:00Z"', '"9999-99-99"'],
    check(input) {
      const raw = jsonOrText(input);
      onlyCliErrors(() => grantedFrom(raw));
    },
  },
  {
    name: 'rbac-mapping',
    reads: 'RBAC mapping files (rbac apply --mapping)',
    seeds: ['groups:\n  developers:\n    clusterRole: view\n  admins:\n    clusterRole: cluster-admin\n', 'usernamePrefix: "oidc:"\n', ''],
    dictionary: [...YAML_TOKENS, 'groups:', 'clusterRole: ', 'namespaces:', 'rules:', 'verbs:', 'resources:', 'apiGroups:', 'usernamePrefix: ', 'defaultNamespace: '],
    check(input) {
      onlyCliErrors(() => parseRbacMapping(input, 'fuzz.yaml'));
    },
  },
  {
    name: 'durations',
    reads: '--ttl, --timeout, --skew and their environment variables',
    seeds: ['12h', '1h30m', '90s', '0.5', '2h45m10s', ''],
    dictionary: ['h', 'm', 's', 'ms', 'd', '.', '-', '+', '0', '9', 'e', '1e999', ' ', 'Infinity', 'NaN'],
    check(input) {
      onlyCliErrors(() => parseDuration(input));
      onlyCliErrors(() => parseTokenTtl(input));
    },
  },
  {
    name: 'provider-text',
    reads: 'error, error_description, user_code and verification_uri from a provider, as printed',
    seeds: ['access_denied', 'WDJB-MJHT', 'https://idp.example/device', '\u001b[2J\u001b]0;title\u0007x'],
    dictionary: ['\u001b', '[', ']', '0;', '\u0007', '\u009b', '\r', '\n', '\u2028', '\u202e', '\ud83d\ude00', ' ', '…'],
    check(input) {
      for (const max of [1, 2, 80, 200, 2048]) {
        const out = sanitizeProviderText(input, max);
        // eslint-disable-next-line no-control-regex
        if (/[\u0000-\u001f\u007f-\u009f]/.test(out)) throw new Error(`control character left in ${JSON.stringify(out)}`);
        if (out.length > max) throw new Error(`${out.length} characters for a maximum of ${max}`);
      }
    },
  },
];
