import type { Command } from 'commander';

/**
 * Every command file exports `register(program)`. Only the command being run is loaded (its
 * name is argv's first word), so `k8s-auth token` doesn't pay for login's or rbac's imports;
 * help, completion and unknown words load them all. Command files also import heavy libraries
 * (openid-client, @kubernetes/client-node, node-vault) lazily inside their actions.
 */
export type RegisterCommand = (program: Command) => void;

export interface CommandRegistration {
  /** The words that select this command: its name, aliases and hidden helpers it registers. */
  names: readonly string[];
  load: () => Promise<{ register: RegisterCommand }>;
}

export const commandRegistrations: readonly CommandRegistration[] = [
  { names: ['login'], load: () => import('./login.js') },
  { names: ['credential'], load: () => import('./credential.js') },
  { names: ['whoami'], load: () => import('./whoami.js') },
  { names: ['logout'], load: () => import('./logout.js') },
  { names: ['clusters'], load: () => import('./clusters/index.js') },
  { names: ['rbac'], load: () => import('./rbac/index.js') },
  { names: ['token'], load: () => import('./token.js') },
  { names: ['proxy'], load: () => import('./proxy.js') },
  { names: ['doctor'], load: () => import('./doctor/index.js') },
  { names: ['version'], load: () => import('./version.js') },
  // completion walks the whole command tree, so selecting it loads everything (see cli.ts)
  { names: ['completion', '__complete'], load: () => import('./completion/index.js') },
];

/** Commands whose work needs every other command registered. */
export const NEEDS_ALL_COMMANDS: readonly string[] = ['completion', '__complete', 'help'];
