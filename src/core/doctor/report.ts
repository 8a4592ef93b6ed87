import type { DoctorObservations } from './observations.js';
import {
  type CheckResult,
  type Verdict,
  apiServerVerdict,
  authenticationConfigVerdict,
  catalogVerdict,
  kubeconfigVerdict,
  locksVerdict,
  providerVerdict,
  redirectVerdict,
  tokensVerdict,
  vaultVerdict,
} from './verdicts.js';

/**
 * The doctor's report: its JSON/YAML form is a stable contract (docs/output.md):
 * `{ cluster, ok, summary: {pass, warn, fail, skip}, checks: [{id, title, verdict, detail, fix}] }`.
 */
export interface DoctorReport {
  cluster: string | null;
  /** No check failed (warnings allowed). */
  ok: boolean;
  summary: Record<Verdict, number>;
  checks: CheckResult[];
}

export function doctorReport(o: DoctorObservations): DoctorReport {
  const entry = o.catalog.kind === 'entry' ? { issuerUrl: o.catalog.entry.issuerUrl, clientId: o.catalog.entry.clientId } : undefined;
  const checks = [
    vaultVerdict(o.vault),
    catalogVerdict(o.catalog),
    providerVerdict(o.provider),
    redirectVerdict(o.redirect),
    kubeconfigVerdict(o.kubeconfig, o.cluster),
    locksVerdict(o.locks),
    tokensVerdict(o.tokens, o.nowMs, o.cluster),
    apiServerVerdict(o.apiServer, entry, o.authenticationConfig?.kind === 'evaluated' ? { rejected: o.authenticationConfig.evaluation.rejected } : undefined),
  ];
  if (o.authenticationConfig) checks.push(authenticationConfigVerdict(o.authenticationConfig, o.apiServer));
  const summary: Record<Verdict, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.verdict] += 1;
  return { cluster: o.cluster ?? null, ok: summary.fail === 0, summary, checks };
}

/** The data form: every field always present (`fix: null` when there is none), so scripts can rely on it. */
export function reportData(report: DoctorReport): Record<string, unknown> {
  return {
    cluster: report.cluster,
    ok: report.ok,
    summary: report.summary,
    checks: report.checks.map((c) => ({ id: c.id, title: c.title, verdict: c.verdict, detail: c.detail, fix: c.fix ?? null })),
  };
}

export interface TextStyle {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const plain: TextStyle = { green: (t) => t, red: (t) => t, yellow: (t) => t, dim: (t) => t, bold: (t) => t };

/**
 * One line per check (`✓ pass  vault  …`), a `fix:` line under each failure or warning, and a
 * summary. The verdict is a word as well as a mark, so it reads without colour. `onlyProblems`
 * (--quiet) leaves out passes and skips.
 */
export function renderReport(report: DoctorReport, style: TextStyle = plain, onlyProblems = false): string {
  const width = Math.max(...report.checks.map((c) => c.id.length));
  const mark: Record<Verdict, string> = {
    pass: style.green('✓ pass'),
    warn: style.yellow('! warn'),
    fail: style.red('✗ FAIL'),
    skip: style.dim('- skip'),
  };
  const lines: string[] = [];
  for (const c of report.checks) {
    if (onlyProblems && (c.verdict === 'pass' || c.verdict === 'skip')) continue;
    lines.push(`${mark[c.verdict]}  ${style.bold(c.id.padEnd(width))}  ${c.detail}`);
    if (c.fix && (c.verdict === 'fail' || c.verdict === 'warn')) lines.push(`${' '.repeat(10 + width)}${style.dim('fix:')} ${c.fix}`);
  }
  const { pass, warn, fail, skip } = report.summary;
  const about = report.cluster ? ` for ${report.cluster}` : '';
  const tally = `doctor: ${fail} failed, ${warn} warning${warn === 1 ? '' : 's'}, ${pass} passed, ${skip} skipped`;
  if (!onlyProblems || fail > 0 || warn > 0) lines.push(fail > 0 ? style.red(`${tally}${about}`) : `${tally}${about}`);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}
