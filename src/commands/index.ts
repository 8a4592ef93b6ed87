import type { Command } from 'commander';

/**
 * Every command file exports `register(program)`. Command files stay light: they import heavy
 * libraries (openid-client, @kubernetes/client-node, node-vault) inside their action with
 * `await import()`, so `k8s-auth --help` and the hot paths don't pay for all of them.
 */
export type RegisterCommand = (program: Command) => void;

export const commandRegistrations: readonly (() => Promise<{ register: RegisterCommand }>)[] = [
  () => import('./completion.js'),
  () => import('./doctor.js'),
  () => import('./token.js'),
  () => import('./credential.js'),
  () => import('./login.js'),
  () => import('./whoami.js'),
  () => import('./logout.js'),
  () => import('./clusters.js'),
  () => import('./rbac.js'),
];
