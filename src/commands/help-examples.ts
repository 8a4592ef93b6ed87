import type { Command } from 'commander';

/**
 * The "Examples:" section of each command's --help, kept in one place so that every command has
 * one (test/integration/help-examples.test.ts checks that, and that each example names only
 * options the command has). Keys are command paths below the program; `k8s-auth` stands for
 * the program name (`kubectl k8s-auth` when run as a kubectl plugin).
 */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['k8s-auth login prod', 'k8s-auth whoami', 'k8s-auth doctor prod', 'k8s-auth help login'],
  login: [
    'k8s-auth login prod                         # browser sign-in, kubeconfig context "prod"',
    'k8s-auth login prod staging --exec          # exec plugin users with a token cache',
    'k8s-auth login prod --no-browser --listen-port 8000   # over SSH: ssh -L 8000:127.0.0.1:8000',
    'k8s-auth login prod --grant device-code     # sign in on another device',
    'k8s-auth login --all --trusted-client k8s-auth   # one sign-in for every cluster (docs/fleet.md)',
    'k8s-auth login lab --catalog ./clusters.yaml --kubeconfig ./lab.kubeconfig',
  ],
  credential: [
    'k8s-auth credential prod                    # what kubectl runs; prints an ExecCredential',
    'k8s-auth credential prod --no-interactive   # fail with exit 10 instead of signing in',
  ],
  whoami: ['k8s-auth whoami', 'k8s-auth whoami prod -o json', 'k8s-auth whoami --context lab-ctx --kubeconfig ./lab.kubeconfig'],
  logout: ['k8s-auth logout prod', 'k8s-auth logout --context lab-ctx'],
  clusters: ['k8s-auth clusters', 'k8s-auth clusters --catalog ./clusters.yaml -o json'],
  'clusters add': [
    'k8s-auth clusters add prod --server https://prod.example.com:6443 --certificate-authority ./prod-ca.pem --dex-grpc dex.example.com:5557 --dex-ca ./dex-ca.pem --dry-run',
    'k8s-auth clusters add lab --server https://lab.example.com:6443 --public -o json',
  ],
  'clusters remove': ['k8s-auth clusters remove lab --dry-run', 'k8s-auth clusters remove lab'],
  'clusters rotate-secret': ['k8s-auth clusters rotate-secret prod', 'k8s-auth clusters rotate-secret prod --dex-grpc dex.example.com:5557 -o json'],
  'clusters list': ['k8s-auth clusters list', 'k8s-auth clusters list --dex-grpc dex.example.com:5557 -o json'],
  rbac: ['k8s-auth rbac plan prod', 'k8s-auth rbac apply prod', 'k8s-auth rbac list -o yaml'],
  'rbac apply': ['k8s-auth rbac apply prod', 'k8s-auth rbac apply prod --id-token ./token.jwt --mapping ./groups.yaml', 'k8s-auth rbac apply prod --dry-run'],
  'rbac plan': ['k8s-auth rbac plan prod', 'k8s-auth rbac plan prod -o json'],
  'rbac list': ['k8s-auth rbac list', 'k8s-auth rbac list --context prod -o yaml'],
  'rbac revoke': ['k8s-auth rbac revoke jane@example.com --dry-run', 'k8s-auth rbac revoke jane@example.com'],
  'rbac sync': ['k8s-auth rbac sync --mapping ./groups.yaml --dry-run', 'k8s-auth rbac sync --mapping ./groups.yaml'],
  token: [
    'k8s-auth token --ttl 1h                     # a token for your own ServiceAccount',
    'k8s-auth token --ttl 30m --service-account ci -n build -o json',
    'k8s-auth token --ttl 2h -o kubeconfig --kubeconfig-out ./ci.kubeconfig',
  ],
  proxy: [
    'k8s-auth proxy prod                         # http://127.0.0.1:8001, signed in as you',
    'k8s-auth proxy prod --port 0 --read-only --audit-log ./audit.jsonl   # a dashboard that can only look',
    'k8s-auth proxy serve --issuer https://dex.example.com --client-id k8s --upstream-kubeconfig ./admin.kubeconfig --tls-cert tls.crt --tls-key tls.key --address 0.0.0.0',
  ],
  'proxy serve': [
    'k8s-auth proxy serve --issuer https://dex.example.com --client-id k8s --upstream-kubeconfig ./impersonator.kubeconfig --tls-cert tls.crt --tls-key tls.key',
    'k8s-auth proxy serve --issuer https://idp.example.com --issuer-ca ./idp-ca.pem --client-id k8s --upstream-kubeconfig ./up.kubeconfig --tls-cert tls.crt --tls-key tls.key --username-prefix oidc: --groups-prefix oidc: --audit-log -',
  ],
  doctor: ['k8s-auth doctor', 'k8s-auth doctor prod -o json', 'k8s-auth doctor prod --catalog ./clusters.yaml --kubeconfig ./lab.kubeconfig'],
  version: ['k8s-auth version', 'k8s-auth version -o json'],
  completion: ['source <(k8s-auth completion bash)', 'k8s-auth completion fish | source'],
};

function pathOf(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Adds the "Examples:" section to every registered command that has examples, and gives a
 * command that has only a summary that summary as its description (its --help shows it).
 */
export function addHelpExamples(program: Command): void {
  const visit = (command: Command) => {
    const summary = command.summary();
    if (!command.description() && summary) command.description(`${summary.charAt(0).toUpperCase()}${summary.slice(1)}.`);
    const examples = HELP_EXAMPLES[pathOf(command)];
    if (examples) {
      const name = program.name();
      command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e.replace(/\bk8s-auth\b/g, name)}`).join('\n')}\n`);
    }
    command.commands.forEach(visit);
  };
  visit(program);
}
