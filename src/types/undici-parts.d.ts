// Typings for the parts of undici that src/adapters/http.ts imports directly: loading the
// package index costs ~60 ms at start-up, these two ~37 ms (see docs/performance.md). The
// types are undici's own; test/unit/undici-parts.test.ts fails if the files move.
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  import type { EnvHttpProxyAgent } from 'undici';
  const Agent: typeof EnvHttpProxyAgent;
  export default Agent;
}

declare module 'undici/lib/web/fetch/index.js' {
  export { fetch } from 'undici';
}
