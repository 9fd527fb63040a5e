/** A scale sweep: the same seeds at several guidance scales, gathered into one grid. */
import type { SampleRecord } from '../../../common/contract/gallery';
import type { RunRequest } from '../../../common/contract/run-request';
import type { RunEvent, StudioApi } from '../../../common/contract/studio-api';

export type SweepPhase = 'idle' | 'running' | 'completed' | 'cancelled' | 'failed';

export interface SweepRow {
  jobId: number;
  scale: number;
  /** Finished sample per seed, in the order of `seeds`. */
  cells: (SampleRecord | null)[];
  status: 'queued' | 'running' | 'completed' | 'cancelled' | 'failed';
  step: number;
  totalSteps: number;
}

export class SweepState {
  scalesText = $state('0, 2, 4');
  phase = $state<SweepPhase>('idle');
  sweepId = $state<string | null>(null);
  seeds = $state.raw<number[]>([]);
  rows = $state.raw<SweepRow[]>([]);
  message = $state<string | null>(null);
  private earlyEvents: RunEvent[] = [];

  readonly busy = $derived(this.phase === 'running');
  readonly done = $derived(this.rows.reduce((sum, row) => sum + row.cells.filter((cell) => cell !== null).length, 0));
  readonly total = $derived(this.rows.length * this.seeds.length);

  constructor(private readonly api: StudioApi) {}

  async start(request: RunRequest, scales: number[]): Promise<void> {
    if (this.busy) return;
    this.phase = 'running';
    this.message = null;
    this.seeds = request.seeds;
    this.rows = [];
    this.sweepId = null;
    try {
      const handle = await this.api.startSweep({ request, scales });
      this.sweepId = handle.sweepId;
      this.rows = handle.jobs.map(({ jobId, scale }) => ({
        jobId,
        scale,
        cells: request.seeds.map(() => null),
        status: 'queued',
        step: 0,
        totalSteps: 0,
      }));
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
    for (const row of this.rows) {
      if (row.status === 'queued' || row.status === 'running') await this.api.cancelRun({ jobId: row.jobId });
    }
  }

  handle(event: RunEvent): void {
    if (event.sweepId === null) return;
    if (this.sweepId === null) {
      if (this.phase === 'running') this.earlyEvents.push(event);
      return;
    }
    if (event.sweepId !== this.sweepId) return;
    this.rows = this.rows.map((row) => (row.jobId === event.jobId ? this.updated(row, event) : row));
    const open = this.rows.some((row) => row.status === 'queued' || row.status === 'running');
    if (!open && this.rows.length > 0) {
      const failed = this.rows.find((row) => row.status === 'failed');
      this.phase = failed ? 'failed' : this.rows.some((row) => row.status === 'cancelled') ? 'cancelled' : 'completed';
    }
  }

  private updated(row: SweepRow, event: RunEvent): SweepRow {
    switch (event.type) {
      case 'started':
        return { ...row, status: 'running', totalSteps: event.totalSteps };
      case 'step':
        return { ...row, status: 'running', step: event.step, totalSteps: event.totalSteps };
      case 'sample': {
        const column = this.seeds.indexOf(event.sample.seed);
        if (column < 0) return row;
        const cells = [...row.cells];
        cells[column] = event.sample;
        return { ...row, cells };
      }
      case 'finished':
        if (event.message) this.message = event.message;
        return { ...row, status: event.status };
    }
  }
}
