import { kubeconfigPaths } from '../core/kubeconfig-paths.js';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../adapters/atomic-file.js';
import { updateKubeconfig } from '../adapters/kubeconfig-file.js';
import { setContext, setUser } from '../core/kubeconfig-merge.js';
import { tokenContextName, tokenKubeconfig } from '../core/token-output.js';
import { CliError, ExitCode, describeError } from '../errors.js';
import type { MintTokenResult } from './mint-token.js';

/**
 * `-o kubeconfig`: a self-contained file (--kubeconfig-out, written atomically, 0600), or a user
 * and context `<sa>@<cluster>` merged into the current kubeconfig next to the cluster entry it
 * was minted through (under kubectl's lock). The current context is left alone: a CI token
 * should not silently replace a person's own context.
 */
export interface WrittenKubeconfig {
  path: string;
  context: string;
  merged: boolean;
}

export async function writeTokenKubeconfig(result: MintTokenResult, options: { out?: string; kubeconfig?: string }): Promise<WrittenKubeconfig> {
  const { minted, connection } = result;
  const context = tokenContextName(minted.serviceAccount, minted.cluster);
  if (options.out) {
    if (!connection) throw new CliError(ExitCode.KUBECONFIG, `no kubeconfig context names cluster '${minted.cluster}', so its address is unknown: pass --context with a context of your kubeconfig`);
    try {
      writeFileAtomic(options.out, stringify(tokenKubeconfig(minted, connection)), 0o600);
    } catch (error) {
      throw new CliError(ExitCode.KUBECONFIG, `cannot write kubeconfig ${options.out}: ${describeError(error)}`, { cause: error });
    }
    return { path: options.out, context, merged: false };
  }
  const paths = kubeconfigPaths(options.kubeconfig);
  const path = await updateKubeconfig(paths, { cluster: minted.cluster, user: context, context }, (doc) => {
    setUser(doc, context, { token: minted.token });
    setContext(doc, context, { cluster: minted.cluster, user: context, namespace: minted.namespace });
  });
  return { path, context, merged: true };
}
