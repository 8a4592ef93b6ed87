import { CliError, ExitCode } from '../errors.js';

// Which person a cached sign-in belongs to. `login --exec` records who signed in as the
// kubeconfig user's --login-hint, which is part of the token cache key, so two people signed in
// at the same provider and client keep two cache files. A later sign-in as someone else must
// not be stored under that key: it would hand one person's token to another's kubeconfig user.

/** The claim values a login hint may name: the entry's username claim, else email. */
export function identitiesOf(claims: Record<string, unknown>, usernameClaim: string): string[] {
  const values = [claims[usernameClaim], claims['email']];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

/** Whether a sign-in with these claims is the person the login hint names (case-insensitive). */
export function isHintedUser(loginHint: string, claims: Record<string, unknown>, usernameClaim: string): boolean {
  const wanted = loginHint.trim().toLowerCase();
  return identitiesOf(claims, usernameClaim).some((value) => value.toLowerCase() === wanted);
}

/** The one-line refusal for a sign-in as someone other than the hinted user. */
export function wrongUserMessage(cluster: string, loginHint: string, claims: Record<string, unknown>, usernameClaim: string): string {
  const who = identitiesOf(claims, usernameClaim)[0] ?? 'another user';
  return `signed in as ${who}, but the kubeconfig user for '${cluster}' belongs to ${loginHint} (--login-hint): nothing was stored; sign in as ${loginHint}, or run \`k8s-auth login ${cluster} --exec\` as ${who} to make a kubeconfig user of your own`;
}

/** Refuses (exit 7, nothing stored) a sign-in as someone other than the hinted person. */
export function checkHintedUser(cluster: string, loginHint: string, claims: Record<string, unknown>, usernameClaim: string): void {
  if (!isHintedUser(loginHint, claims, usernameClaim)) throw new CliError(ExitCode.LOGIN_DENIED, wrongUserMessage(cluster, loginHint, claims, usernameClaim));
}
