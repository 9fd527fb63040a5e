import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EvaluationView } from '../../../common/contract/evaluation';
import { EvaluationRecord } from '../../../common/contract/evaluation';
import { openStudio } from '../../../electron/service/open-studio';
import { invokeOperation } from '../../../electron/service/invoke';

const data = mkdtempSync(join(tmpdir(), 'gds-evaluation-api-'));
const service = openStudio({ dataDir: data, modelDirs: [join(import.meta.dirname, '..', '..', 'fixtures', 'evaluation-models')], threads: 1, appVersion: 'test' });
afterAll(async () => {
  await service.close();
  rmSync(data, { recursive: true, force: true });
});

describe('evaluation operations of StudioApi', () => {
  it('starts an evaluation and follows it to its results through the channels the page uses', async () => {
    const started = EvaluationRecord.parse(
      await invokeOperation(service, 'evaluation:start', {
        modelId: 'evaluated-8px',
        classes: [1],
        scales: [0, 2],
        mode: 'conditional',
        sampler: 'ddim',
        steps: 'ddim5',
        samplesPerScale: 5,
      }),
    );
    let view = EvaluationView.parse(await invokeOperation(service, 'evaluation:get', { evaluationId: started.id }));
    const seenProgress: number[] = [];
    while (view.record.status === 'pending' || view.record.status === 'running') {
      if (view.progress) seenProgress.push(view.progress.doneSamples);
      await new Promise((resolve) => setTimeout(resolve, 50));
      view = EvaluationView.parse(await invokeOperation(service, 'evaluation:get', { evaluationId: started.id }));
    }
    expect(view.record.status, view.record.error ?? '').toBe('completed');
    expect(view.progress).toBeNull();
    expect(view.record.results.map((result) => result.scale)).toEqual([0, 2]);
    // Drawn by this studio's engine, not through a queue: there is no shard view.
    expect(await invokeOperation(service, 'evaluation:shards', { evaluationId: started.id })).toBeNull();
    const listed = (await invokeOperation(service, 'evaluation:list', undefined)) as EvaluationRecord[];
    expect(listed.map((record) => record.id)).toEqual([started.id]);
    await expect(invokeOperation(service, 'evaluation:resume', { evaluationId: started.id })).rejects.toThrow('nothing to resume');
  });

  it('rejects settings that break the contract before anything is stored', async () => {
    await expect(
      invokeOperation(service, 'evaluation:start', { modelId: 'evaluated-8px', classes: [], scales: [1], mode: 'conditional', sampler: 'ddim', steps: 'ddim5', samplesPerScale: 5 }),
    ).rejects.toThrow(/not valid/);
    await expect(invokeOperation(service, 'evaluation:get', { evaluationId: 4242 })).rejects.toThrow('Evaluation 4242 is not in the gallery');
  });
});
