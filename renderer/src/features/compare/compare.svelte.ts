/**
 * The pair of samples the compare view shows, and the forks and comparisons on their way: a fork
 * or run B is queued, and once its sample is drawn the view opens on the pair.
 */
import { SvelteMap } from 'svelte/reactivity';
import type { ComparedSetting, SwitchAt } from '../../../../common/contract/run-request';
import type { CompareRequest } from '../../../../common/contract/fork-compare';
import type { RunEvent, StudioApi } from '../../../../common/contract/studio-api';

export interface ComparePair {
  /** The parent, or sample A. */
  a: number;
  /** The fork, or run B. */
  b: number;
  /** What links them, for the view's heading. */
  relation: string;
}

export class CompareState {
  pair = $state<ComparePair | null>(null);
  /** Queued forks and comparisons by job id, with the sample they start from. */
  private readonly waiting = new SvelteMap<number, { from: number; relation: string }>();

  /** How many forks and comparisons are queued and not drawn yet. */
  get pending(): number {
    return this.waiting.size;
  }

  constructor(
    private readonly api: StudioApi,
    private readonly opened: (pair: ComparePair) => void,
  ) {}

  /** Queues the fork of `sampleId` from sampling step `step`; the view opens when it is drawn. */
  async fork(sampleId: number, step: number, changes: Omit<SwitchAt, 'step'>): Promise<void> {
    const { jobId } = await this.api.forkSample({ sampleId, step, changes });
    this.expect(jobId, sampleId, `fork from step ${step}`);
  }

  /** Queues run B: the sample's request with one setting changed. */
  async compare(request: CompareRequest): Promise<void> {
    const { jobId } = await this.api.compareSample(request);
    this.expect(jobId, request.sampleId, `${settingLabel(request.setting)} changed`);
  }

  show(pair: ComparePair): void {
    this.pair = pair;
    this.opened(pair);
  }

  handle(event: RunEvent): void {
    const from = this.waiting.get(event.jobId);
    if (from === undefined) return;
    if (event.type === 'sample') {
      this.waiting.delete(event.jobId);
      this.show({ a: from.from, b: event.sample.id, relation: from.relation });
    } else if (event.type === 'finished') {
      this.waiting.delete(event.jobId);
    }
  }

  private expect(jobId: number, from: number, relation: string): void {
    this.waiting.set(jobId, { from, relation });
  }
}

const SETTING_LABELS: Record<ComparedSetting, string> = {
  classIndex: 'class',
  scale: 'guidance scale',
  guidanceSchedule: 'scale over t',
  sampler: 'sampler',
  steps: 'steps',
  cfgScale: 'classifier-free w',
  eta: 'η',
};

export function settingLabel(setting: ComparedSetting): string {
  return SETTING_LABELS[setting];
}
