import type { CachedTokens } from './token-cache-entry.js';

/**
 * The one line for a bare `credential <cluster>` that several cached sign-ins serve: who each is
 * (the login hint, else the user, plus whatever else differs) and how to pick one. Pure.
 */
export function describeIdentities(entries: readonly CachedTokens[]): string[] {
  const issuers = new Set(entries.map((e) => e.key.issuer));
  const clients = new Set(entries.map((e) => e.key.clientId));
  const scopeSets = new Set(entries.map((e) => e.key.scopes.join(' ')));
  return entries.map((entry) => {
    const parts = [entry.key.loginHint ?? entry.user ?? '(no login hint)'];
    if (issuers.size > 1) parts.push(`at ${entry.key.issuer}`);
    if (clients.size > 1) parts.push(`client ${entry.key.clientId}`);
    if (scopeSets.size > 1) parts.push(`scopes "${entry.key.scopes.join(' ')}"`);
    return parts.join(' ');
  });
}

export function ambiguousIdentitiesMessage(cluster: string, entries: readonly CachedTokens[]): string {
  const hints = entries.map((e) => e.key.loginHint ?? '');
  const pick = new Set(hints).size === entries.length && hints[0]
    ? `pick one with --login-hint, e.g. \`k8s-auth credential ${cluster} --login-hint ${hints[0]}\``
    : 'pick one with --issuer, --client-id, --scopes and --login-hint as `login --exec` wrote them in the kubeconfig';
  return `${entries.length} cached sign-ins serve '${cluster}' (${describeIdentities(entries).join('; ')}): ${pick}`;
}
