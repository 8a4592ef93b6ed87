#!/usr/bin/env node
// Benchmark: what `k8s-auth proxy` adds (issue 14). Plain node, run after `npm run build`:
//
//   npm run build && node bench/proxy.mjs [--requests N] [--events N]
//
// The upstream is a small Node HTTP server in its own process (not a kube-apiserver: its own
// latency and variance would drown what the proxy adds); the proxy is the built CLI
// (`k8s-auth proxy <context> --port 0`, a static-token kubeconfig user), in its own process.
// Measured in the same run, interleaved in blocks so machine noise hits both alike:
//  - latency: sequential GETs of a ~1 KiB JSON object over a kept-alive connection, direct to the
//    upstream vs through the proxy; p50 and p99 of each, and the added ms (target: p50 under 1 ms);
//  - watch: one watch stream of N events (JSON lines, as the API server sends them), direct vs
//    through the proxy; events/s of each, their ratio, and whether every event arrived in order
//    (target: none lost).
// Prints one JSON line on stdout.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'k8s-auth.js');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) || fallback : fallback;
};
const REQUESTS = Math.max(200, arg('--requests', 3000));
const EVENTS = Math.max(1000, arg('--events', 50_000));
const BLOCK = 100;
const TARGET_P50_MS = 1;

if (!existsSync(join(root, 'dist', 'cli.js'))) {
  process.stderr.write('bench/proxy: dist/ is not built: run `npm run build` first\n');
  process.exit(1);
}

const UPSTREAM = `
const { createServer } = require('node:http');
const object = JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'bench', namespace: 'default', resourceVersion: '1' }, data: { payload: 'x'.repeat(900) } });
const server = createServer((req, res) => {
  if (req.url.startsWith('/apis/authentication.k8s.io/v1/selfsubjectreviews')) {
    req.resume();
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ status: { userInfo: { username: 'bench', groups: [] } } }));
    return;
  }
  const watch = /[?&]watch=true/.test(req.url);
  if (!watch) {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(object) }).end(object);
    return;
  }
  const n = Number(new URL(req.url, 'http://x').searchParams.get('n'));
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  let i = 0;
  const pump = () => {
    while (i < n) {
      let chunk = '';
      for (let k = 0; k < 50 && i < n; k += 1, i += 1) chunk += JSON.stringify({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'cm-' + i, resourceVersion: String(i) } } }) + '\\n';
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

function startProcess(args, pattern) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`did not start: ${err}`)), 30_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('close', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(port, path) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

function watch(port, n) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request({ host: '127.0.0.1', port, path: `/api/v1/namespaces/default/configmaps?watch=true&n=${n}`, agent: false }, (res) => {
      let rest = '';
      let next = 0;
      let inOrder = true;
      res.setEncoding('utf8');
      res.on('data', (d) => {
        const lines = (rest + d).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          const rv = Number(JSON.parse(line).object.metadata.resourceVersion);
          if (rv !== next) inOrder = false;
          next = rv + 1;
        }
      });
      res.on('end', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        resolve({ events: next, inOrder: inOrder && rest === '', perSecond: next / seconds });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;

const dir = mkdtempSync(join(tmpdir(), 'k8s-auth-bench-proxy-'));
let upstream;
let proxy;
try {
  upstream = await startProcess(['-e', UPSTREAM], /^(\d+)\n/);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: bench',
    'clusters:', '- name: bench', '  cluster:', `    server: http://127.0.0.1:${upstream.port}`,
    'users:', '- name: bench', '  user:', '    token: bench-static-token',
    'contexts:', '- name: bench', '  context:', '    cluster: bench', '    user: bench', '',
  ].join('\n'));
  proxy = await startProcess([cli, 'proxy', 'bench', '--kubeconfig', kubeconfig, '--port', '0'], /Starting to serve on 127\.0\.0\.1:(\d+)/);

  const path = '/api/v1/namespaces/default/configmaps/bench';
  const direct = [];
  const through = [];
  for (let i = 0; i < 200; i += 1) {
    await get(upstream.port, path);
    await get(proxy.port, path);
  }
  for (let done = 0; done < REQUESTS; done += BLOCK) {
    for (let i = 0; i < BLOCK; i += 1) direct.push(await get(upstream.port, path));
    for (let i = 0; i < BLOCK; i += 1) through.push(await get(proxy.port, path));
  }
  direct.sort((a, b) => a - b);
  through.sort((a, b) => a - b);

  const watches = { direct: [], through: [] };
  for (let r = 0; r < 3; r += 1) {
    watches.direct.push(await watch(upstream.port, EVENTS));
    watches.through.push(await watch(proxy.port, EVENTS));
  }
  const best = (runs) => runs.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const lost = [...watches.direct, ...watches.through].some((w) => w.events !== EVENTS || !w.inOrder);
  const latency = {
    requests: REQUESTS,
    directP50Ms: round(pct(direct, 50)),
    directP99Ms: round(pct(direct, 99)),
    proxyP50Ms: round(pct(through, 50)),
    proxyP99Ms: round(pct(through, 99)),
  };
  latency.addedP50Ms = round(latency.proxyP50Ms - latency.directP50Ms);
  latency.addedP99Ms = round(latency.proxyP99Ms - latency.directP99Ms);
  const watchResult = {
    events: EVENTS,
    directEventsPerSecond: Math.round(best(watches.direct).perSecond),
    proxyEventsPerSecond: Math.round(best(watches.through).perSecond),
    proxyToDirectRatio: round(best(watches.through).perSecond / best(watches.direct).perSecond, 2),
    everyEventInOrder: !lost,
  };
  const result = {
    bench: 'proxy',
    latency,
    watch: watchResult,
    target: `added p50 under ${TARGET_P50_MS} ms, no lost watch event`,
    met: latency.addedP50Ms < TARGET_P50_MS && !lost,
  };
  process.stderr.write(`proxy: p50 ${latency.directP50Ms} → ${latency.proxyP50Ms} ms (+${latency.addedP50Ms}), p99 ${latency.directP99Ms} → ${latency.proxyP99Ms} ms (+${latency.addedP99Ms}); watch ${watchResult.directEventsPerSecond} → ${watchResult.proxyEventsPerSecond} events/s (${watchResult.proxyToDirectRatio}x), every event in order: ${!lost}\n`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  agent.destroy();
  proxy?.child.kill('SIGTERM');
  upstream?.child.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
