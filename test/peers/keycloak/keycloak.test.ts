// The Keycloak tier: one Keycloak (keycloak-shared.ts) for three suites, which keep their own
// files, describe blocks and test names: renewal, refresh-token reuse and logout
// (keycloak-tokens.suite.ts; first, while the realm has seen no refresh of any other suite),
// sign-in in Chromium, by device code and by password (keycloak-sign-in.suite.ts), and
// Keycloak's ID tokens at kube-apiserver 1.20 through kubectl 1.32 (keycloak-kube-apiserver.suite.ts).
import { afterAll, beforeAll } from 'vitest';
import { startSharedKeycloak, stopSharedKeycloak } from './keycloak-shared.js';
import './keycloak-tokens.suite.js';
import './keycloak-sign-in.suite.js';
import './keycloak-kube-apiserver.suite.js';

beforeAll(startSharedKeycloak, 420_000);
afterAll(stopSharedKeycloak);
