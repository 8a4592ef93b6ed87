import { Argument, Command, Option } from 'commander';

/**
 * A commander program shaped like k8s-auth's (globals, nested nouns, aliases, choices, cluster
 * arguments, a variadic argument, a hidden command) for testing completion generation without
 * depending on which real commands have landed.
 */
export function completionTestProgram(): Command {
  const program = new Command('k8s-auth')
    .version('0.0.0', '--version')
    .option('-v, --verbose', 'details on stderr')
    .option('-q, --quiet', 'only errors and data');
  program
    .command('login')
    .alias('signin')
    .description('sign in to a cluster')
    .argument('<cluster>')
    .option('--catalog <file>', 'catalog file')
    .option('--vault-prefix <path>', 'Vault path of the catalog')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml']))
    .addOption(new Option('--grant <grant>', 'grant type').choices(['auto', 'browser', 'device-code']))
    .option('--timeout <seconds>', 'give up after')
    .option('--no-open', 'do not open a browser');
  const rbac = program.command('rbac').description('manage RBAC from ID tokens');
  rbac.command('apply').description('apply bindings').argument('<file>').option('--dry-run', 'print only');
  rbac.command('list').description('list bindings').option('--cluster <name>', 'cluster').addOption(new Option('-o, --output <format>').choices(['json', 'yaml']));
  program.command('token').description('mint tokens').argument('[clusters...]').option('--kubeconfig <path>', 'kubeconfig file');
  program.command('secret-thing', { hidden: true }).description('hidden');
  program
    .command('__complete', { hidden: true })
    .addArgument(new Argument('<what>').choices(['clusters']))
    .option('--catalog <file>', 'catalog file')
    .option('--vault-prefix <path>', 'Vault path');
  return program;
}
