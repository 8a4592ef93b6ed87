// The targets of issue 16, checked against the JSON lines the benchmarks print (bench/run.mjs
// --check). Every figure is a ratio or a count measured in the same run, so a slower or busier
// machine moves both sides; absolute times are used only where the issue sets one (rbac apply).
// A bench that did not run (--only) is left out; one that failed is a failed row.

const row = (what, value, op, limit, unit = '') => ({ what, value, op, limit, unit, ok: value !== undefined && (op === '≤' ? value <= limit : op === '<' ? value < limit : value === limit) });

const checks = {
  commands: (r) => [
    row('whoami, warm cache (× node -e 0)', r.whoami?.ratio, '≤', 1.5, '×'),
    row('clusters, catalog file (× node -e 0)', r.clusters?.ratio, '≤', 1.5, '×'),
    row('exec hot path `credential` (× node -e 0)', r.credential?.ratio, '≤', 1.1, '×'),
  ],
  'credential-hot-path': (r) => [row('exec hot path, minimal env (× node -e 0)', r.ratio, '≤', 1.1, '×')],
  login: (r) => [row(`login start → browser, ${r.catalog} catalog (× node -e 0)`, Math.round((r.startToBrowserMs.median / r.baselineMs) * 100) / 100, '≤', 2, '×')],
  kubelogin: (r) => [
    row('exec hot path beside kubelogin (× node -e 0)', r.hotPath?.oursRatio, '≤', 1.1, '×'),
    row('login start → browser, file catalog (× node -e 0)', r.startToBrowser?.oursFileRatio, '≤', 2, '×'),
    // the issue also asks "no slower than kubelogin": printed, not a failure (docs/performance.md)
    { ...row('  … over kubelogin start → browser (informational)', Math.round((r.startToBrowser?.oursFileMs / r.startToBrowser?.kubeloginMs) * 10) / 10, '≤', Infinity, '×') },
  ],
  scale: (r) => [
    row('1,000 entries: exec hot path (extra)', r.hotPath?.extra, '<', 0.1),
    row('1,000 entries: login start → browser (extra)', r.loginStartToBrowser?.extra, '<', 0.1),
    row('1,000 entries: login callback → exit (extra)', r.loginCallbackToExit?.extra, '<', 0.1),
  ],
  'rbac-apply': (r) => [row(`rbac apply ${r.groups} groups, first run`, r.firstApplyMs, '≤', r.target?.firstApplyMs ?? 2000, 'ms'), row('rbac apply no-op re-run: writes', r.noopWrites, '=', 0)],
  'rbac-fleet': (r) => [row(`rbac apply --all-clusters, ${r.clusters} clusters --parallel ${r.parallel} (× one cluster)`, r.ratio, '≤', 2, '×')],
  token: (r) => [
    row('token --ttl, static credentials (× node -e 0)', r.ratio, '≤', 2, '×'),
    row('token --ttl, exec login, warm cache (× node -e 0)', r.selfExecRatio, '≤', 1.5, '×'),
    row('token --ttl, auth-provider login (× node -e 0)', r.selfOidcRatio, '≤', 1.5, '×'),
  ],
};

export function checkTargets(results) {
  const rows = [];
  for (const r of results) {
    if (r.error) rows.push({ what: `${r.bench}: ${r.error}`, value: 'failed', op: '', limit: '', unit: '', ok: false });
    else if (checks[r.bench]) rows.push(...checks[r.bench](r));
  }
  return rows;
}
