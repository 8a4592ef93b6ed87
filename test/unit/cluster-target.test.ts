// The one rule for naming a cluster (issue 17, point 4): catalog cluster as the positional,
// --context for a kubeconfig context, either accepted where unambiguous.
import { describe, expect, it } from 'vitest';
import { contextForTarget, resolveTarget, type ContextRef } from '../../src/core/cluster-target.js';

const contexts: ContextRef[] = [
  { name: 'lab-ctx', cluster: 'lab' },
  { name: 'prod', cluster: 'prod' },
  { name: 'stage', cluster: 'lab' }, // a context named like another cluster
  { name: 'multi-a', cluster: 'multi' },
  { name: 'multi-b', cluster: 'multi' },
];
const clusters = ['lab', 'prod', 'stage', 'multi', 'catalog-only'];

describe('resolveTarget', () => {
  it('a cluster name as the positional is that cluster', () => {
    expect(resolveTarget({ positional: 'lab', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'lab' } });
    expect(resolveTarget({ positional: 'catalog-only', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'catalog-only' } });
  });

  it('a context named like its own cluster (what login writes by default) is both, without a note', () => {
    expect(resolveTarget({ positional: 'prod', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'prod', context: 'prod' } });
  });

  it('a positional that is only a context name resolves to its cluster and says so', () => {
    const result = resolveTarget({ positional: 'lab-ctx', contexts, clusters });
    expect(result).toEqual({
      ok: true,
      target: { cluster: 'lab', context: 'lab-ctx', note: 'lab-ctx is a context of cluster lab: using cluster lab (next time: `lab --context lab-ctx`)' },
    });
  });

  it('a name that is a cluster and a context of another cluster is refused in one line naming both spellings', () => {
    const result = resolveTarget({ positional: 'stage', contexts, clusters });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBe("'stage' is ambiguous: it is cluster stage, and stage is a context of cluster lab: for the context write `lab --context stage`");
    expect(result.error).not.toContain('\n');
  });

  it('for a command without --context (credential) the note names the cluster alone, and a name that is a cluster stays the cluster', () => {
    expect(resolveTarget({ positional: 'lab-ctx', contexts, clusters, contextFlag: false })).toEqual({
      ok: true,
      target: { cluster: 'lab', context: 'lab-ctx', note: 'lab-ctx is a context of cluster lab: using cluster lab (next time: `lab`)' },
    });
    expect(resolveTarget({ positional: 'stage', contexts, clusters, contextFlag: false })).toEqual({ ok: true, target: { cluster: 'stage' } });
  });

  it('--context alone names the context and its cluster', () => {
    expect(resolveTarget({ context: 'lab-ctx', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'lab', context: 'lab-ctx' } });
    expect(resolveTarget({ context: 'stage', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'lab', context: 'stage' } });
  });

  it('--context with its own cluster is accepted; with another cluster it is refused', () => {
    expect(resolveTarget({ positional: 'lab', context: 'lab-ctx', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'lab', context: 'lab-ctx' } });
    const result = resolveTarget({ positional: 'prod', context: 'lab-ctx', contexts, clusters });
    expect(result).toEqual({ ok: false, error: 'lab-ctx is a context of cluster lab, not of cluster prod: name cluster lab, or drop --context' });
  });

  it('an unknown --context is passed on for the command to report; an unknown name stays a cluster', () => {
    expect(resolveTarget({ context: 'nosuch', contexts, clusters })).toEqual({ ok: true, target: { context: 'nosuch' } });
    expect(resolveTarget({ positional: 'nosuch', contexts, clusters })).toEqual({ ok: true, target: { cluster: 'nosuch' } });
  });

  it('nothing named is nothing resolved; blanks count as not given', () => {
    expect(resolveTarget({ contexts, clusters })).toEqual({ ok: true, target: {} });
    expect(resolveTarget({ positional: '  ', context: '', contexts, clusters })).toEqual({ ok: true, target: {} });
  });
});

describe('contextForTarget', () => {
  it('the named context wins', () => {
    expect(contextForTarget({ cluster: 'lab', context: 'stage' }, contexts, 'lab-ctx')).toEqual({ ok: true, context: 'stage' });
  });
  it("a cluster's only context, or the current one when it is the cluster's", () => {
    expect(contextForTarget({ cluster: 'prod' }, contexts, 'lab-ctx')).toEqual({ ok: true, context: 'prod' });
    expect(contextForTarget({ cluster: 'multi' }, contexts, 'multi-b')).toEqual({ ok: true, context: 'multi-b' });
    expect(contextForTarget({ cluster: 'lab' }, contexts, 'stage')).toEqual({ ok: true, context: 'stage' });
  });
  it('a cluster with several contexts, none current, asks for --context', () => {
    expect(contextForTarget({ cluster: 'multi' }, contexts, 'prod')).toEqual({ ok: false, error: 'cluster multi has 2 contexts (multi-a, multi-b): pick one with --context' });
  });
  it('no target, or a cluster without contexts, leaves the choice to the command (current context / its own error)', () => {
    expect(contextForTarget({}, contexts, 'prod')).toEqual({ ok: true });
    expect(contextForTarget({ cluster: 'catalog-only' }, contexts, 'prod')).toEqual({ ok: true });
  });
});
