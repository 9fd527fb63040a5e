/** The model catalog: the provider a model really runs on, shown for whichever provider it was loaded with. Real ONNX model. */
import { afterAll, describe, expect, it } from 'vitest';
import { openStudio, removeFolder, request } from './studio-fixture';

const studio = openStudio();
afterAll(async () => {
  await studio.close();
  removeFolder(studio.dataDir);
});

describe('the model catalog', () => {
  it('shows no provider before a model is loaded, and the one in use once it is loaded on the CPU', async () => {
    expect((await studio.service.listModels()).map((model) => model.activeProvider)).toEqual([null]);
    await studio.service.loadModel({ modelId: 'linear-8px', provider: 'cpu' });
    expect((await studio.service.listModels()).map((model) => model.activeProvider)).toEqual(['cpu']);
  });

  it('answers a model id it does not have with the ids it has', async () => {
    await expect(studio.service.loadModel({ modelId: 'no-such-model', provider: 'cpu' })).rejects.toThrow(
      'There is no model "no-such-model" in this studio (available: "linear-8px"). Pick one of those, or add its folder.',
    );
    await expect(studio.service.startRun({ request: request({ modelId: 'no-such-model' }), recordTrajectory: false })).rejects.toThrow(
      'There is no model "no-such-model" in this studio',
    );
  });
});
