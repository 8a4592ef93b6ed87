import type { ObjectRef, PlanAction, RbacPlan } from './plan.js';

/**
 * How plans and results read: one line per action for people, a stable JSON shape for scripts
 * (`-o json`). Pure.
 */
export interface PlanEntry {
  op: PlanAction['op'];
  kind: ObjectRef['kind'];
  name: string;
  namespace?: string;
  /** What changes (updates), or why (deletes, refusals). */
  detail?: string;
}

export function planEntries(plan: RbacPlan): PlanEntry[] {
  return plan.actions.map((action) => {
    const entry: PlanEntry = { op: action.op, kind: action.ref.kind, name: action.ref.name };
    if (action.ref.namespace) entry.namespace = action.ref.namespace;
    if (action.op === 'update' || action.op === 'replace') entry.detail = action.changes.join(', ');
    if (action.op === 'delete' || action.op === 'refuse') entry.detail = action.reason;
    return entry;
  });
}

const SIGN: Record<PlanAction['op'], string> = { create: '+', update: '~', replace: '±', delete: '-', refuse: '!' };

export function formatPlanLines(plan: RbacPlan): string[] {
  return planEntries(plan).map((e) => {
    const where = e.namespace ? `${e.namespace}/${e.name}` : e.name;
    const detail = e.detail ? ` (${e.detail})` : '';
    return `  ${SIGN[e.op]} ${e.op} ${e.kind} ${where}${e.op === 'refuse' ? `: ${e.detail ?? ''}` : detail}`;
  });
}

export function countByOp(plan: RbacPlan): Record<PlanAction['op'], number> {
  const counts: Record<PlanAction['op'], number> = { create: 0, update: 0, replace: 0, delete: 0, refuse: 0 };
  for (const action of plan.actions) counts[action.op] += 1;
  return counts;
}

export function summarizePlan(plan: RbacPlan): string {
  const c = countByOp(plan);
  if (plan.actions.length === 0) return 'up to date: nothing to change';
  const parts = [
    c.create ? `${c.create} to create` : '',
    c.update ? `${c.update} to update` : '',
    c.replace ? `${c.replace} to replace` : '',
    c.delete ? `${c.delete} to delete` : '',
    c.refuse ? `${c.refuse} refused` : '',
  ].filter((p) => p !== '');
  return parts.join(', ');
}
