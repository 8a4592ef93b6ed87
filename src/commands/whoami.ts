import { type Command, Option } from 'commander';
import { DATA_FORMATS, outputOption, resolveOutput } from '../config/output-options.js';

/** `k8s-auth whoami [<context>]`: who the kubeconfig signs in as (docs/usage.md#whoami). */
interface WhoamiFlags {
  kubeconfig?: string;
  output?: string;
}

export function register(program: Command): void {
  program
    .command('whoami')
    .summary('show who the current (or named) context signs in as')
    .description('Show issuer, subject, email, groups and expiry of the ID token a kubeconfig context uses. Reads the kubeconfig only; never prints the token.')
    .argument('[context]', 'kubeconfig context (default: the current context)')
    .addOption(new Option('--kubeconfig <file>', 'kubeconfig to read (default: $KUBECONFIG, else ~/.kube/config)'))
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (context: string | undefined, flags: WhoamiFlags) => {
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
