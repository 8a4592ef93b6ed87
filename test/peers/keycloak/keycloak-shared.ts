// The one Keycloak that keycloak.test.ts starts for its three suites (keycloak-tokens,
// keycloak-sign-in, keycloak-kube-apiserver, each a *.suite.ts module imported there): Keycloak
// takes 20-45 s to start on this machine, and the peers project runs files one at a time, so
// three files with a Keycloak each paid that three times. The realm is the default one
// startKeycloak imports, plus a free loopback port for the confidential client's one registered
// redirect URI (keycloak-sign-in). A suite that changes realm or client settings restores them
// in a finally block, so the suites do not depend on each other's order.
import { freeLoopbackPort } from '../process.js';
import { keycloakAvailable, startKeycloak, type KeycloakPeer } from './keycloak.js';

let peer: KeycloakPeer | undefined;

/** Starts the shared Keycloak (keycloak.test.ts's file-level beforeAll); a no-op without Keycloak, where every suite skips. */
export async function startSharedKeycloak(): Promise<void> {
  if (!keycloakAvailable()) return;
  const started = Date.now();
  const confidentialPort = await freeLoopbackPort();
  peer = await startKeycloak({ confidentialRedirectUris: [`http://127.0.0.1:${confidentialPort}/callback`] });
  process.stderr.write(`keycloak ${peer.version}: ready in ${peer.startupMs} ms (shared by the Keycloak suites; start ${Date.now() - started} ms)\n`);
}

export async function stopSharedKeycloak(): Promise<void> {
  await peer?.stop();
  peer = undefined;
}

/** The shared Keycloak, for a suite's beforeAll and tests. */
export function sharedKeycloak(): KeycloakPeer {
  if (!peer) throw new Error('the shared Keycloak is not running: the Keycloak suites run from test/peers/keycloak/keycloak.test.ts');
  return peer;
}
