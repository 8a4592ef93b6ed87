import { type Command } from 'commander';
import { DATA_FORMATS, outputOption, resolveOutput } from '../config/output-options.js';

/** `k8s-auth version` (also `--version`, a lone `-v`): docs/usage.md#version. */
export function register(program: Command): void {
  program
    .command('version')
    .summary('print the version')
    .description('Print the version of k8s-auth, the Node.js it runs on, and the exec credential API versions it answers (user.exec.apiVersion).')
    .addOption(outputOption(DATA_FORMATS, 'text'))
    .action(async (flags: { output?: string }) => {
      const { VERSION, formatVersion, versionInfo } = await import('../core/version-info.js');
      const info = versionInfo(VERSION, process.version);
      const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
      if (format === 'json' || format === 'yaml') {
        const { printData } = await import('../ui/output.js');
        printData(format, info);
        return;
      }
      process.stdout.write(formatVersion(info));
    });
}
