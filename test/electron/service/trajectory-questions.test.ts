/**
 * What the classifier and the evaluator see in a recorded trajectory, through the studio on a real
 * gallery file and the real ONNX graphs of evaluated-8px: the views recorded during a guided run,
 * those asked for afterwards on an unguided one, and the evaluator's p(y | x̂₀), each checked against
 * the graphs called here directly with onnxruntime-node.
 */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleDetail, SampleRecord } from '../../../common/contract/gallery';
import { invokeOperation } from '../../../electron/service/invoke';
import { copyModel, LINEAR_MODEL } from '../inference/test-models';
import { openStudio, removeFolder, samplesOf, type StudioFixture } from './studio-fixture';

const EVALUATED_MODEL = path.resolve(import.meta.dirname, '../../fixtures/evaluation-models/evaluated-8px');

let studio: StudioFixture;
let guided: SampleRecord;
let unguided: SampleRecord;
let untraced: SampleRecord;
let linear: SampleRecord;
let noClassifier: SampleRecord;
let classifier: ort.InferenceSession;
let evaluator: ort.InferenceSession;
let withoutClassifier: Awaited<ReturnType<typeof copyModel>>;

const PLANE = 64;
const base = { modelId: 'evaluated-8px', classIndex: 2, sampler: 'ddim', steps: 'ddim10', eta: 0, clipDenoised: true, batchSize: 1, provider: 'cpu' } as const;

async function drawn(request: Record<string, unknown>, recordTrajectory = true): Promise<SampleRecord> {
  const { jobId } = await studio.service.startRun({ request: request as never, recordTrajectory });
  const [sample] = samplesOf(await studio.finished(jobId));
  if (sample === undefined) throw new Error(`The run ${JSON.stringify(request)} stored no sample.`);
  return sample;
}

beforeAll(async () => {
  withoutClassifier = await copyModel(EVALUATED_MODEL);
  Object.assign(withoutClassifier.manifest, { id: 'no-classifier-8px', classifier: null, defaults: { ...(withoutClassifier.manifest.defaults as object), mode: 'conditional' } });
  delete (withoutClassifier.manifest.files as Record<string, string>)['classifier_grad.onnx'];
  await withoutClassifier.saveManifest();
  studio = openStudio(undefined, [EVALUATED_MODEL, LINEAR_MODEL, withoutClassifier.dir]);
  guided = await drawn({ ...base, mode: 'unconditional+classifier', scale: 0.2, seeds: [21] });
  unguided = await drawn({ ...base, mode: 'conditional', scale: 0, seeds: [22] });
  untraced = await drawn({ ...base, mode: 'conditional', scale: 0, seeds: [23] }, false);
  linear = await drawn({ ...base, modelId: 'linear-8px', mode: 'unconditional+classifier', scale: 2, seeds: [24] });
  noClassifier = await drawn({ ...base, modelId: 'no-classifier-8px', mode: 'conditional', scale: 0, seeds: [25] });
  classifier = await ort.InferenceSession.create(path.join(EVALUATED_MODEL, 'classifier_grad.onnx'));
  evaluator = await ort.InferenceSession.create(path.join(EVALUATED_MODEL, 'evaluator.onnx'));
}, 120_000);

afterAll(async () => {
  await classifier?.release();
  await evaluator?.release();
  await studio?.close();
  if (studio) removeFolder(studio.dataDir);
  await withoutClassifier?.remove();
});

/** softmax written as 1 / Σⱼ exp(lⱼ − lᵢ), a different arrangement from the studio's. */
function softmax(logits: Float32Array): number[] {
  return Array.from(logits, (own) => 1 / Array.from(logits).reduce((sum, other) => sum + Math.exp(other - own), 0));
}

/** The classifier graph called directly on one stored xₜ at timestep t. */
async function classifierOn(state: Float32Array, t: number, label: number): Promise<{ magnitude: number[]; probabilities: number[] }> {
  const outputs = await classifier.run({
    x: new ort.Tensor('float32', state, [1, 1, 8, 8]),
    t: new ort.Tensor('int64', BigInt64Array.from([BigInt(t)]), [1]),
    y: new ort.Tensor('int64', BigInt64Array.from([BigInt(label)]), [1]),
  });
  const grad = outputs.grad!.data as Float32Array;
  // One channel: the L2 norm over channels is |grad|.
  return { magnitude: Array.from(grad, Math.abs), probabilities: softmax(outputs.logits!.data as Float32Array) };
}

/** The timestep each stored xₜ is at: the next recorded step's t (every step of ddim10 is kept), 0 after the last. */
function stateTimestep(detail: SampleDetail, index: number): number {
  return detail.trajectory[index + 1]?.t ?? 0;
}

async function expectViewsMatchTheGraph(detail: SampleDetail, indices: readonly number[]): Promise<void> {
  const { sample } = detail;
  for (const index of indices) {
    const view = detail.trajectory[index]?.classifierView;
    expect(view, `step ${index}`).not.toBeNull();
    const state = studio.service.gallery.trajectories.state(sample.id, index) as Float32Array;
    const expected = await classifierOn(state, stateTimestep(detail, index), sample.classIndex);
    const max = Math.max(...expected.magnitude);
    expect(max, `step ${index}: a vanishing gradient would check nothing`).toBeGreaterThan(0);
    expect(view!.t).toBe(stateTimestep(detail, index));
    expect(view!.gradientMax).toBeCloseTo(max, 6);
    const heat = Array.from(studio.service.gallery.trajectories.heat(sample.id, index) as Uint8Array);
    expect(heat).toHaveLength(PLANE);
    heat.forEach((level, pixel) => expect(Math.abs(level - (255 * (expected.magnitude[pixel] as number)) / max), `pixel ${pixel}`).toBeLessThanOrEqual(0.5 + 1e-3));
    const ranked = expected.probabilities.map((probability, classIndex) => ({ classIndex, probability })).sort((a, b) => b.probability - a.probability);
    expect(view!.top.map((entry) => entry.classIndex)).toEqual(ranked.map((entry) => entry.classIndex));
    view!.top.forEach((entry, rank) => expect(entry.probability).toBeCloseTo(ranked[rank]!.probability, 6));
    expect(view!.probability).toBeCloseTo(expected.probabilities[sample.classIndex] as number, 6);
  }
}

describe('a classifier-guided run', () => {
  it("records, for every step but the last, the |∇ₓ log p(y|xₜ)| heatmap and top-3 of the stored xₜ as the classifier graph gives them", async () => {
    const detail = await studio.service.getSample({ sampleId: guided.id });
    expect(detail.trajectory).toHaveLength(10);
    // The last step's x₀ meets no further guided step, so no pass ran on it during the run.
    expect(detail.trajectory[9]?.classifierView).toBeNull();
    await expectViewsMatchTheGraph(detail, [0, 4, 8]);
    const heatPng = PNG.sync.read(Buffer.from((await studio.service.readImage({ kind: 'heat', sampleId: guided.id, step: 4 }))!));
    expect([heatPng.width, heatPng.height]).toEqual([8, 8]);
  });

  it('keeps each step\'s xₜ exactly: the state the recorded heatmap was taken of', async () => {
    const state = studio.service.gallery.trajectories.state(guided.id, 9) as Float32Array;
    expect(state).toHaveLength(PLANE);
    const finalPixels = PNG.sync.read(Buffer.from((await studio.service.readImage({ kind: 'sample', sampleId: guided.id }))!)).data;
    // The last step's xₜ is the sample: its bytes are the stored image's.
    state.forEach((value, pixel) => expect(Math.min(255, Math.max(0, Math.trunc(Math.fround(Math.fround(value + 1) * 127.5))))).toBe(finalPixels[pixel * 4]));
  });
});

describe('Ask the classifier', () => {
  it('on an unguided run fills every step with what the classifier sees in its stored xₜ, and stores it', async () => {
    const before = await studio.service.getSample({ sampleId: unguided.id });
    expect(before.trajectory.every((step) => step.classifierView === null)).toBe(true);
    expect(await studio.service.readImage({ kind: 'heat', sampleId: unguided.id, step: 0 })).toBeNull();
    const answered = await studio.service.askClassifier({ sampleId: unguided.id });
    expect(answered.trajectory.every((step) => step.classifierView !== null)).toBe(true);
    await expectViewsMatchTheGraph(answered, [0, 5, 9]);
    expect(await studio.service.getSample({ sampleId: unguided.id })).toEqual(answered);
  });

  it('on a guided run asks only about the steps without a view', async () => {
    const answered = await studio.service.askClassifier({ sampleId: guided.id });
    await expectViewsMatchTheGraph(answered, [9]);
  });
});

describe("the evaluator's p(y | x̂₀)", () => {
  it('is measured on each stored x̂₀ and stored beside the classifier views', async () => {
    const answered = await studio.service.askEvaluator({ sampleId: guided.id });
    for (const index of [0, 3, 9]) {
      const png = PNG.sync.read(Buffer.from((await studio.service.readImage({ kind: 'x0', sampleId: guided.id, step: index }))!));
      const image = Float32Array.from({ length: PLANE }, (_, pixel) => (png.data[pixel * 4] as number) / 127.5 - 1);
      const outputs = await evaluator.run({ x: new ort.Tensor('float32', image, [1, 1, 8, 8]) });
      const expected = softmax(outputs.logits!.data as Float32Array)[guided.classIndex] as number;
      expect(answered.trajectory[index]?.evaluatorProbability).toBeCloseTo(expected, 5);
    }
  });
});

describe('bad questions get a sentence and change nothing', () => {
  it.each([
    ['an unknown sample', () => ({ sampleId: 999_999 }), /Sample 999999 is not in the gallery any more/],
    ['a sample without a trajectory', () => ({ sampleId: untraced.id }), /has no recorded trajectory; turn on "Record trajectories"/],
    ['a step past the last', () => ({ sampleId: unguided.id, steps: [10] }), /has 10 recorded steps, numbered 0 to 9; there is no step 10/],
  ])('askClassifier about %s', async (_, question, sentence) => {
    await expect(studio.service.askClassifier(question())).rejects.toThrow(sentence);
    await expect(studio.service.askEvaluator(question())).rejects.toThrow(sentence);
  });

  it('refuses negative or fractional step indices at the contract', async () => {
    await expect(invokeOperation(studio.service, 'gallery:ask-classifier', { sampleId: unguided.id, steps: [-1] })).rejects.toThrow(/a step index is 0 or more/);
    await expect(invokeOperation(studio.service, 'gallery:ask-evaluator', { sampleId: unguided.id, steps: [1.5] })).rejects.toThrow(/a step index is a whole number/);
  });

  it('names the missing network of a model without a classifier or without an evaluator', async () => {
    await expect(studio.service.askClassifier({ sampleId: noClassifier.id })).rejects.toThrow(/has no noisy classifier, so there is nothing to ask/);
    await expect(studio.service.askEvaluator({ sampleId: linear.id })).rejects.toThrow(/has no evaluator network/);
    expect((await studio.service.getSample({ sampleId: linear.id })).trajectory.every((step) => step.evaluatorProbability === null)).toBe(true);
  });

  it('answers no image for a step out of range', async () => {
    for (const kind of ['xt', 'x0', 'heat'] as const) expect(await studio.service.readImage({ kind, sampleId: guided.id, step: 10 })).toBeNull();
    expect(studio.service.gallery.trajectories.state(guided.id, 10)).toBeUndefined();
    expect(studio.service.gallery.trajectories.state(999_999, 0)).toBeUndefined();
  });
});
