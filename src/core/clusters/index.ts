// The clusters (fleet) feature's decisions, for code outside the feature: registering a cluster
// with Dex and the catalog (plan.ts), comparing both sides (report.ts), one sign-in for several
// clusters of an issuer (sign-in.ts).
export * from './plan.js';
export * from './report.js';
export * from './sign-in.js';
