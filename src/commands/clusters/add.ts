import { type Command, Option } from 'commander';
import { addFleetOptions, finishDex, type FleetFlags } from '../../config/fleet-options.js';
import { DATA_FORMATS, resolveOutput } from '../../config/output-options.js';
import { CliError, ExitCode } from '../../errors.js';

/** `k8s-auth clusters add <name>`: a Dex client and a catalog entry, both or neither (docs/fleet.md). */
interface AddFlags extends FleetFlags {
  server?: string;
  certificateAuthority?: string;
  certificateAuthorityData?: string;
  issuerUrl?: string;
  idpCertificateAuthority?: string;
  public?: boolean;
  redirectPort?: string;
  trustedPeer?: string[];
}

export function register(clusters: Command): void {
  const command = clusters
    .command('add')
    .argument('<name>', 'cluster name: the catalog key and the Dex client ID kubernetes-<name>')
    .summary('register a cluster with Dex and the Vault catalog')
    .description('Create the Dex client of a cluster (gRPC API) and write its catalog entry into Vault KV v2 with check-and-set; if the Vault write fails, the Dex client is deleted again. Prints the API server flags and the AuthenticationConfiguration jwt entry the cluster needs.')
    .addOption(new Option('--server <url>', 'API server URL written to the catalog'))
    .addOption(new Option('--certificate-authority <file>', "PEM file of the API server's CA").conflicts('certificateAuthorityData'))
    .addOption(new Option('--certificate-authority-data <base64>', "base64 of the API server's CA PEM"))
    .addOption(new Option('--issuer-url <url>', "issuer written to the catalog (default: the issuer Dex's discovery names)"))
    .addOption(new Option('--idp-certificate-authority <file>', "PEM file of the CA of the issuer's HTTPS certificate, written as idp-certificate-authority-data"))
    .addOption(new Option('--public', 'a public client (no secret; Dex then takes any loopback redirect port)'))
    .addOption(new Option('--trusted-peer <client-id>', "a client that may sign in for this cluster's client (Dex trustedPeers; repeatable): the client of `login --trusted-client`").argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]))
    .addOption(new Option('--redirect-port <port>', 'loopback port of the registered redirect URIs of a confidential client (default: 8000)'));
  addFleetOptions(command, { dryRun: true }).action(async (name: string, _flags: AddFlags, self: Command) => {
    const flags = self.optsWithGlobals<AddFlags>();
    const { format } = resolveOutput(flags.output, DATA_FORMATS, 'text');
    const { readCaOption, parseRedirectPort } = await import('../../config/fleet-input.js');
    if (!flags.server) throw new CliError(ExitCode.USAGE, '--server is required: the API server URL of the cluster');
    const caData = flags.certificateAuthorityData?.replace(/\s+/g, '') ?? (flags.certificateAuthority ? readCaOption(flags.certificateAuthority, '--certificate-authority').base64 : undefined);
    const idpCa = flags.idpCertificateAuthority ? readCaOption(flags.idpCertificateAuthority, '--idp-certificate-authority') : undefined;
    const { openFleet } = await import('../../config/fleet-options.js');
    const { dex, catalog } = await openFleet(flags, true);
    if (dex === undefined) throw new CliError(ExitCode.USAGE, '--dex-grpc is required');
    const { addCluster } = await import('../../usecases/clusters/index.js');
    try {
      const result = await addCluster(
        { dex, catalog },
        {
          cluster: name,
          server: flags.server.replace(/\/+$/, ''),
          ...(caData ? { certificateAuthorityData: caData } : {}),
          ...(flags.issuerUrl ? { issuerUrl: flags.issuerUrl.replace(/\/+$/, '') } : {}),
          ...(idpCa ? { idpCertificateAuthorityData: idpCa.base64, idpCaPem: idpCa.pem } : {}),
          public: flags.public === true,
          redirectPort: parseRedirectPort(flags.redirectPort),
          ...(flags.trustedPeer ? { trustedPeers: flags.trustedPeer } : {}),
          dryRun: flags.dryRun === true,
        },
      );
      const { printFleetOutcome } = await import('../../ui/fleet-output.js');
      printFleetOutcome(format, result);
    } finally {
      finishDex(dex);
    }
  });
}
