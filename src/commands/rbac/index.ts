import type { Command } from 'commander';
import { registerApply } from './apply.js';
import { registerList } from './list.js';
import { registerPlan } from './plan.js';
import { registerRevoke } from './revoke.js';
import { registerSync } from './sync.js';

/**
 * `k8s-auth rbac apply|plan|list|revoke|sync` (docs/rbac.md): Kubernetes RBAC from the groups of
 * a verified ID token, written with the caller's own kubeconfig credentials.
 */
export function register(program: Command): void {
  const rbac = program
    .command('rbac')
    .summary('Kubernetes RBAC from the groups of a verified ID token')
    .description(
      "Turn the groups of a verified ID token into a ServiceAccount and its bindings, using your own kubeconfig credentials. The token's signature, issuer, audience, expiry and email_verified are checked first; an unverified token creates nothing. See docs/rbac.md.",
    );

  registerApply(rbac);
  registerPlan(rbac);
  registerList(rbac);
  registerRevoke(rbac);
  registerSync(rbac);
}
