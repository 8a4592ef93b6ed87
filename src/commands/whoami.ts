import { type Command, Option } from 'commander';
import { DATA_FORMATS, outputOption, resolveOutput } from '../config/output-options.js';

/** `k8s-auth whoami [<cluster>] [--context <name>]`: who the kubeconfig signs in as (docs/usage.md#whoami). */
interface WhoamiFlags {
  context?: string;
  kubeconfig?: string;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('whoami')
    .summary('show who the current (or named) context signs in as')
    .description('Show issuer, subject, email, groups and expiry of the ID token a kubeconfig context uses. Reads the kubeconfig only; never prints the token.')
    .argument('[cluster]', "catalog cluster: its context (the current one when it is the cluster's; default: the current context); a context name works too")
    .addOption(new Option('--context <name>', 'kubeconfig context to read (default: the current context)'))
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (positional: string | undefined, flags: WhoamiFlags) => {
      const { resolveCommandTarget } = await import('../config/cluster-target-options.js');
      const target = await resolveCommandTarget({ positional, context: flags.context, kubeconfig: flags.kubeconfig, needsContext: true });
      // a cluster without a context of its own: say so in whoami's terms
      const context = target.context ?? target.cluster;
      const { whoami, idTokenFromExecCache } = await import('../usecases/whoami.js');
      const result = await whoami({
        ...(flags.kubeconfig !== undefined ? { kubeconfig: flags.kubeconfig } : {}),
        ...(context !== undefined ? { context } : {}),
        idTokenForExec: idTokenFromExecCache,
      });
      const output = resolveOutput(flags.output, DATA_FORMATS, 'text').format;
      if (output === 'json' || output === 'yaml') {
        const { printData } = await import('../ui/output.js');
        printData(output, result);
        return;
      }
      const { describeExpiry } = await import('../core/id-token-claims.js');
      const expiry =
        result.expiry === null
          ? 'unknown'
          : `${result.expiry} (${result.expired ? `expired ${describeExpiry(Math.floor(Date.parse(result.expiry) / 1000), Math.floor(Date.now() / 1000))}${result.refreshable ? '; kubectl refreshes it on next use' : '; log in again'}` : describeExpiry(Math.floor(Date.parse(result.expiry) / 1000), Math.floor(Date.now() / 1000))})`;
      const rows: [string, string][] = [
        ['context', result.context],
        ['cluster', `${result.cluster} (${result.server})`],
        ['user', result.user],
        ['issuer', result.issuer ?? '-'],
        ['subject', result.subject ?? '-'],
        ['email', result.email ?? '-'],
        ['groups', result.groups.length > 0 ? result.groups.join(', ') : '-'],
        ['expires', expiry],
      ];
      process.stdout.write(rows.map(([k, v]) => `${`${k}:`.padEnd(9)} ${v}`).join('\n') + '\n');
    });
}
