import type Database from 'better-sqlite3';
import type { TrajectoryStepRecord } from '../../common/contract/gallery';

export interface NewTrajectoryStep {
  /** Position in the recorded sequence, 0 = first step taken. */
  index: number;
  /** Original (un-respaced) timestep index. */
  t: number;
  /** xₜ and x̂₀ at this step, PNG-encoded. */
  xtPng: Uint8Array;
  predX0Png: Uint8Array;
  probability: number | null;
  gradientNorm: number | null;
}

export type TrajectoryImageKind = 'xt' | 'x0';

/** The recorded denoising steps of a sample, for the trajectory viewer. */
export class TrajectoriesRepository {
  private readonly insertStatement;
  private readonly stepsStatement;
  private readonly xtStatement;
  private readonly x0Statement;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare(
      `INSERT INTO trajectory_steps (sample_id, step_index, t, xt_png, pred_x0_png, probability, gradient_norm)
       VALUES (@sampleId, @index, @t, @xtPng, @predX0Png, @probability, @gradientNorm)`,
    );
    this.stepsStatement = db.prepare<[number], TrajectoryStepRecord>(
      `SELECT step_index AS "index", t, probability, gradient_norm AS gradientNorm
       FROM trajectory_steps WHERE sample_id = ? ORDER BY step_index`,
    );
    this.xtStatement = db.prepare<[number, number], { png: Uint8Array }>(
      'SELECT xt_png AS png FROM trajectory_steps WHERE sample_id = ? AND step_index = ?',
    );
    this.x0Statement = db.prepare<[number, number], { png: Uint8Array }>(
      'SELECT pred_x0_png AS png FROM trajectory_steps WHERE sample_id = ? AND step_index = ?',
    );
  }

  /** Called inside the sample's own transaction. */
  insert(sampleId: number, steps: readonly NewTrajectoryStep[]): void {
    for (const step of steps) this.insertStatement.run({ sampleId, ...step });
  }

  steps(sampleId: number): TrajectoryStepRecord[] {
    return this.stepsStatement.all(sampleId);
  }

  image(sampleId: number, index: number, kind: TrajectoryImageKind): Uint8Array | undefined {
    return (kind === 'xt' ? this.xtStatement : this.x0Statement).get(sampleId, index)?.png;
  }
}
