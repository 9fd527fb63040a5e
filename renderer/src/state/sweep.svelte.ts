/**
 * A sweep over one or two axes (A1111's X/Y plot): rows take one setting's values, columns
 * another's (or the settings' seeds alone), every cell a queued run gathered into one grid.
 */
import type { SampleRecord } from '../../../common/contract/gallery';
import type { RunRequest } from '../../../common/contract/run-request';
import { axisValueLabel, cellRequest, type GridSweepRequest, type SweepAxis, type SweepSetting } from '../../../common/contract/sweep-grid';
import type { RunEvent, StudioApi } from '../../../common/contract/studio-api';

export type SweepPhase = 'idle' | 'running' | 'completed' | 'cancelled' | 'failed';
export type CellStatus = 'queued' | 'running' | 'completed' | 'cancelled' | 'failed';

export interface SweepCell {
  jobId: number;
  row: number;
  column: number;
  /** The cell's seeds, and its finished sample per seed in that order. */
  seeds: number[];
  samples: (SampleRecord | null)[];
  status: CellStatus;
  step: number;
  totalSteps: number;
}

export class SweepState {
  rowSetting = $state<SweepSetting>('scale');
  rowText = $state('0, 2, 4');
  columnSetting = $state<SweepSetting | 'none'>('none');
  columnText = $state('');
  phase = $state<SweepPhase>('idle');
  sweepId = $state<string | null>(null);
  /** The sweep as sent, for the grid's labels and its recipe. */
  sweep = $state.raw<GridSweepRequest | null>(null);
  rowLabels = $state.raw<string[]>([]);
  columnLabels = $state.raw<string[]>([]);
  cells = $state.raw<SweepCell[]>([]);
  message = $state<string | null>(null);
  private earlyEvents: RunEvent[] = [];

  readonly busy = $derived(this.phase === 'running');
  readonly done = $derived(this.cells.reduce((sum, cell) => sum + cell.samples.filter((sample) => sample !== null).length, 0));
  readonly total = $derived(this.cells.reduce((sum, cell) => sum + cell.seeds.length, 0));
  /** Finished images plus the running cells' steps so far, as a fraction of every image. */
  readonly fraction = $derived(
    this.total === 0
      ? 0
      : this.cells.reduce((sum, cell) => {
          const finished = cell.samples.filter((sample) => sample !== null).length;
          const inProgress = cell.status === 'running' && cell.totalSteps > 0 ? ((cell.seeds.length - finished) * cell.step) / cell.totalSteps : 0;
          return sum + finished + inProgress;
        }, 0) / this.total,
  );
  /** Images side by side in one cell: the cell's seeds. */
  readonly seedsPerCell = $derived(this.cells[0]?.seeds.length ?? 0);

  constructor(private readonly api: StudioApi) {}

  /** Runs `rows` × `columns` over the base request; without columns each row runs the request's seeds. */
  async start(request: RunRequest, rows: SweepAxis, columns: SweepAxis | null, classNames: readonly string[]): Promise<void> {
    if (this.busy) return;
    this.phase = 'running';
    this.message = null;
    this.cells = [];
    this.sweepId = null;
    const sweep: GridSweepRequest = columns === null ? { request, x: rows, recordTrajectory: false } : { request, x: columns, y: rows, recordTrajectory: false };
    this.sweep = sweep;
    this.rowLabels = rows.values.map((_, index) => axisValueLabel(rows, index, classNames));
    this.columnLabels = columns === null ? [] : columns.values.map((_, index) => axisValueLabel(columns, index, classNames));
    try {
      const handle = await this.api.startGridSweep(sweep);
      this.sweepId = handle.sweepId;
      this.cells = handle.cells.map(({ jobId, x, y }) => {
        const seeds = cellRequest(sweep, x, y).seeds;
        return { jobId, row: columns === null ? x : y, column: columns === null ? 0 : x, seeds, samples: seeds.map(() => null), status: 'queued', step: 0, totalSteps: 0 };
      });
      // Events may overtake the reply that names the sweep; replay the ones that belong to it.
      const early = this.earlyEvents;
      this.earlyEvents = [];
      for (const event of early) this.handle(event);
    } catch (error) {
      this.phase = 'failed';
      this.message = (error as Error).message;
    }
  }

  async cancel(): Promise<void> {
    for (const cell of this.cells) {
      if (cell.status === 'queued' || cell.status === 'running') await this.api.cancelRun({ jobId: cell.jobId });
    }
  }

  /** Takes over the axes of a restored sweep (from a grid PNG). */
  restoreAxes(sweep: GridSweepRequest, text: (axis: SweepAxis) => string): void {
    const rows = sweep.y ?? sweep.x;
    this.rowSetting = rows.setting;
    this.rowText = text(rows);
    this.columnSetting = sweep.y === undefined ? 'none' : sweep.x.setting;
    this.columnText = sweep.y === undefined ? '' : text(sweep.x);
  }

  handle(event: RunEvent): void {
    if (event.sweepId === null) return;
    if (this.sweepId === null) {
      if (this.phase === 'running') this.earlyEvents.push(event);
      return;
    }
    if (event.sweepId !== this.sweepId) return;
    this.cells = this.cells.map((cell) => (cell.jobId === event.jobId ? this.updated(cell, event) : cell));
    const open = this.cells.some((cell) => cell.status === 'queued' || cell.status === 'running');
    if (!open && this.cells.length > 0) {
      const failed = this.cells.find((cell) => cell.status === 'failed');
      this.phase = failed ? 'failed' : this.cells.some((cell) => cell.status === 'cancelled') ? 'cancelled' : 'completed';
    }
  }

  private updated(cell: SweepCell, event: RunEvent): SweepCell {
    switch (event.type) {
      case 'started':
        return { ...cell, status: 'running', totalSteps: event.totalSteps };
      case 'step':
        return { ...cell, status: 'running', step: event.step, totalSteps: event.totalSteps };
      case 'sample': {
        const position = cell.seeds.findIndex((seed, index) => seed === event.sample.seed && cell.samples[index] === null);
        if (position < 0) return cell;
        const samples = [...cell.samples];
        samples[position] = event.sample;
        return { ...cell, samples };
      }
      case 'finished':
        if (event.message) this.message = event.message;
        return { ...cell, status: event.status };
    }
  }
}
