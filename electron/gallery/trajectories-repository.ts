import type Database from 'better-sqlite3';
import { z } from 'zod';
import { ClassProbability, type ClassifierView, type TrajectoryStepRecord } from '../../common/contract/gallery';
import { decodePng } from '../png/image';
import { heatPng, planesPng, tensorPng, type StepGeometry } from './trajectory-images';

/** A classifier pass on a recorded xₜ, as the gallery keeps it. */
export interface StoredClassifierView extends ClassifierView {
  /** |∇ₓ log p(y|xₜ)| per pixel [H, W], 255 = gradientMax. */
  heat: Uint8Array;
}

export interface NewTrajectoryStep {
  /** Position in the recorded sequence, 0 = first step taken. */
  index: number;
  /** Original (un-respaced) timestep index. */
  t: number;
  /** xₜ after this step, exactly [C, H, W]. */
  xt: Float32Array;
  /** x̂₀ of this step as bytes [C, H, W] (toByte). */
  predX0: Uint8Array;
  probability: number | null;
  gradientNorm: number | null;
  classifier: StoredClassifierView | null;
}

export type TrajectoryImageKind = 'xt' | 'x0' | 'heat';

interface StepRow {
  index: number;
  t: number;
  probability: number | null;
  gradientNorm: number | null;
  classifierT: number | null;
  classifierProbability: number | null;
  classifierTop: string | null;
  classifierGradientMax: number | null;
  evaluatorProbability: number | null;
}

interface StepBlobs {
  height: number;
  width: number;
  xtPng: Uint8Array | null;
  predX0Png: Uint8Array | null;
  xtF32: Uint8Array | null;
  predX0U8: Uint8Array | null;
  heat: Uint8Array | null;
}

const StoredTop = z.array(ClassProbability);

/** Float32 values of a little-endian BLOB, copied so the result is aligned and owned. */
function floatsOf(blob: Uint8Array): Float32Array {
  return new Float32Array(Uint8Array.from(blob).buffer);
}

function blobOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function viewOf(row: StepRow): ClassifierView | null {
  if (row.classifierT === null || row.classifierProbability === null || row.classifierTop === null || row.classifierGradientMax === null) return null;
  return { t: row.classifierT, probability: row.classifierProbability, top: StoredTop.parse(JSON.parse(row.classifierTop)), gradientMax: row.classifierGradientMax };
}

/** The channels of a step: its exact xₜ holds C·H·W float32 values. */
function geometryOf(blobs: StepBlobs, floats: number): StepGeometry {
  return { channels: floats / (blobs.height * blobs.width), height: blobs.height, width: blobs.width };
}

/**
 * The recorded denoising steps of a sample, for the trajectory viewer. Steps recorded since schema
 * 8 are kept as numbers and their PNGs made when asked for (not cached: a 32×32 step encodes in
 * tens of microseconds); older steps keep the PNGs they were stored with.
 */
export class TrajectoriesRepository {
  private readonly insertStatement;
  private readonly stepsStatement;
  private readonly blobsStatement;
  private readonly classifierStatement;
  private readonly evaluatorStatement;

  constructor(private readonly db: Database.Database) {
    this.insertStatement = db.prepare(
      `INSERT INTO trajectory_steps (sample_id, step_index, t, xt_f32, pred_x0_u8, probability, gradient_norm,
         classifier_t, classifier_probability, classifier_top, classifier_heat, classifier_gradient_max)
       VALUES (@sampleId, @index, @t, @xt, @predX0, @probability, @gradientNorm,
         @classifierT, @classifierProbability, @classifierTop, @classifierHeat, @classifierGradientMax)`,
    );
    this.stepsStatement = db.prepare<[number], StepRow>(
      `SELECT step_index AS "index", t, probability, gradient_norm AS gradientNorm, classifier_t AS classifierT,
         classifier_probability AS classifierProbability, classifier_top AS classifierTop,
         classifier_gradient_max AS classifierGradientMax, evaluator_probability AS evaluatorProbability
       FROM trajectory_steps WHERE sample_id = ? ORDER BY step_index`,
    );
    this.blobsStatement = db.prepare<[number, number], StepBlobs>(
      `SELECT s.height, s.width, ts.xt_png AS xtPng, ts.pred_x0_png AS predX0Png, ts.xt_f32 AS xtF32, ts.pred_x0_u8 AS predX0U8, ts.classifier_heat AS heat
       FROM trajectory_steps ts JOIN samples s ON s.id = ts.sample_id WHERE ts.sample_id = ? AND ts.step_index = ?`,
    );
    this.classifierStatement = db.prepare(
      `UPDATE trajectory_steps SET classifier_t = @t, classifier_probability = @probability, classifier_top = @top,
         classifier_heat = @heat, classifier_gradient_max = @gradientMax
       WHERE sample_id = @sampleId AND step_index = @index`,
    );
    this.evaluatorStatement = db.prepare('UPDATE trajectory_steps SET evaluator_probability = @probability WHERE sample_id = @sampleId AND step_index = @index');
  }

  /** Called inside the sample's own transaction. */
  insert(sampleId: number, steps: readonly NewTrajectoryStep[]): void {
    for (const step of steps) {
      const { classifier } = step;
      this.insertStatement.run({
        sampleId,
        index: step.index,
        t: step.t,
        xt: blobOf(step.xt),
        predX0: step.predX0,
        probability: step.probability,
        gradientNorm: step.gradientNorm,
        classifierT: classifier?.t ?? null,
        classifierProbability: classifier?.probability ?? null,
        classifierTop: classifier === null ? null : JSON.stringify(classifier.top),
        classifierHeat: classifier?.heat ?? null,
        classifierGradientMax: classifier?.gradientMax ?? null,
      });
    }
  }

  steps(sampleId: number): TrajectoryStepRecord[] {
    return this.stepsStatement.all(sampleId).map((row) => ({
      index: row.index,
      t: row.t,
      probability: row.probability,
      gradientNorm: row.gradientNorm,
      classifierView: viewOf(row),
      evaluatorProbability: row.evaluatorProbability,
    }));
  }

  /** The PNG of a step's xₜ, x̂₀ or gradient heatmap; undefined when there is no such step or no heatmap yet. */
  image(sampleId: number, index: number, kind: TrajectoryImageKind): Uint8Array | undefined {
    const blobs = this.blobsStatement.get(sampleId, index);
    if (blobs === undefined) return undefined;
    if (kind === 'heat') return blobs.heat === null ? undefined : heatPng(blobs.heat, blobs.height, blobs.width);
    if (blobs.xtF32 === null || blobs.predX0U8 === null) return (kind === 'xt' ? blobs.xtPng : blobs.predX0Png) ?? undefined;
    const xt = floatsOf(blobs.xtF32);
    const geometry = geometryOf(blobs, xt.length);
    return kind === 'xt' ? tensorPng(xt, geometry) : planesPng(blobs.predX0U8, geometry);
  }

  /** The exact xₜ a step left [C, H, W]; undefined for a missing step or one recorded before exact states were kept. */
  state(sampleId: number, index: number): Float32Array | undefined {
    const blob = this.blobsStatement.get(sampleId, index)?.xtF32;
    return blob === null || blob === undefined ? undefined : floatsOf(blob);
  }

  /** The stored gradient heatmap bytes of a step [H, W] (255 = its classifier view's gradientMax); undefined without one. */
  heat(sampleId: number, index: number): Uint8Array | undefined {
    return this.blobsStatement.get(sampleId, index)?.heat ?? undefined;
  }

  /**
   * A step's xₜ or x̂₀ as [-1, 1] floats [C, H, W]: xₜ exact where kept, else from its 8-bit image
   * (byte b stands for b / 127.5 − 1); undefined for a missing step.
   */
  tensor(sampleId: number, index: number, kind: 'xt' | 'x0', channels: number): Float32Array | undefined {
    const blobs = this.blobsStatement.get(sampleId, index);
    if (blobs === undefined) return undefined;
    if (kind === 'xt' && blobs.xtF32 !== null) return floatsOf(blobs.xtF32);
    if (kind === 'x0' && blobs.predX0U8 !== null) return Float32Array.from(blobs.predX0U8, (byte) => byte / 127.5 - 1);
    const png = kind === 'xt' ? blobs.xtPng : blobs.predX0Png;
    if (png === null) return undefined;
    const image = decodePng(png);
    const plane = image.width * image.height;
    const tensor = new Float32Array(channels * plane);
    for (let pixel = 0; pixel < plane; pixel++) {
      for (let channel = 0; channel < channels; channel++) tensor[channel * plane + pixel] = (image.data[pixel * 4 + channel] as number) / 127.5 - 1;
    }
    return tensor;
  }

  /** Stores what the classifier saw at the given steps, in one transaction. */
  storeClassifierViews(sampleId: number, views: readonly { index: number; view: StoredClassifierView }[]): void {
    this.db.transaction(() => {
      for (const { index, view } of views) {
        this.classifierStatement.run({ sampleId, index, t: view.t, probability: view.probability, top: JSON.stringify(view.top), heat: view.heat, gradientMax: view.gradientMax });
      }
    })();
  }

  /** Stores the evaluator's p(y | x̂₀) of the given steps, in one transaction. */
  storeEvaluatorProbabilities(sampleId: number, probabilities: readonly { index: number; probability: number }[]): void {
    this.db.transaction(() => {
      for (const { index, probability } of probabilities) this.evaluatorStatement.run({ sampleId, index, probability });
    })();
  }
}
