import { describe, expect, it } from 'vitest';
import { fleetExitCode, fleetSummary, fleetTargets, mapBounded } from '../../src/core/rbac/fleet.js';

describe('fleetTargets: the context that makes each catalog cluster calls', () => {
  const contexts = [
    { name: 'prod', cluster: 'prod' },
    { name: 'lab-admin', cluster: 'lab' },
    { name: 'stage', cluster: 'stage' },
    { name: 'stage-admin', cluster: 'stage' },
    { name: 'edge', cluster: 'other' },
  ];

  it("uses the cluster's only context, or the current one when it is the cluster's", () => {
    expect(fleetTargets(['prod', 'lab'], contexts, undefined)).toEqual([
      { cluster: 'prod', context: 'prod' },
      { cluster: 'lab', context: 'lab-admin' },
    ]);
    expect(fleetTargets(['stage'], contexts, 'stage-admin')).toEqual([{ cluster: 'stage', context: 'stage-admin' }]);
  });

  it('never falls back to the current context of another cluster: a cluster without a context is a problem of its own', () => {
    const [target] = fleetTargets(['dev'], contexts, 'prod');
    expect(target).toEqual({ cluster: 'dev', problem: expect.stringMatching(/^cluster dev has no context in the kubeconfig: add one/) });
  });

  it('a context named like the cluster but of another cluster is named in the problem', () => {
    const [target] = fleetTargets(['edge'], contexts, undefined);
    expect(target).toEqual({ cluster: 'edge', problem: expect.stringContaining('(context edge belongs to cluster other)') });
  });

  it('two contexts and neither current: the user picks, per cluster', () => {
    const [target] = fleetTargets(['stage'], contexts, 'prod');
    expect(target).toEqual({ cluster: 'stage', problem: 'cluster stage has 2 contexts (stage, stage-admin): run `k8s-auth rbac apply stage --context <name>` for it' });
  });

  it('each cluster once, in the order given', () => {
    expect(fleetTargets(['lab', 'prod', 'lab'], contexts, undefined).map((t) => t.cluster)).toEqual(['lab', 'prod']);
  });
});

describe('fleet outcome', () => {
  const ok = { cluster: 'a', result: 1 };
  const usage = { cluster: 'b', error: { message: 'no context', exitCode: 2 } };
  const kube = { cluster: 'c', error: { message: 'forbidden', exitCode: 9 } };

  it('exits 0 when every cluster succeeded, else with the first failure in catalog order', () => {
    expect(fleetExitCode([ok])).toBe(0);
    expect(fleetExitCode([ok, kube, usage])).toBe(9);
    expect(fleetExitCode([usage, kube])).toBe(2);
  });

  it('summarises in one line', () => {
    expect(fleetSummary([ok, ok], false)).toBe('2 of 2 clusters done');
    expect(fleetSummary([ok, usage, kube], true)).toBe('1 of 3 clusters planned; failed: b, c');
    expect(fleetSummary([ok], false)).toBe('1 of 1 cluster done');
  });
});

describe('mapBounded', () => {
  it('keeps at most `limit` running, and answers in the order of the items', async () => {
    let running = 0;
    let most = 0;
    const delays = [30, 5, 20, 1, 10, 15, 2];
    const answers = await mapBounded(delays, 3, async (ms, i) => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, ms));
      running -= 1;
      return `${i}:${ms}`;
    });
    expect(most).toBe(3);
    expect(answers).toEqual(delays.map((ms, i) => `${i}:${ms}`));
  });

  it('a limit above the number of items runs them all at once; no items, no work', async () => {
    let most = 0;
    let running = 0;
    await mapBounded([1, 2], 10, async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
    });
    expect(most).toBe(2);
    expect(await mapBounded([], 4, async () => 1)).toEqual([]);
  });
});
