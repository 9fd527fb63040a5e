/** Everything the page holds, wired to one connection; components reach it through context. */
import { getContext, setContext } from 'svelte';
import type { StudioConnection } from '../lib/api';
import { CompareState } from '../features/compare/compare.svelte';
import { GalleryState } from './gallery.svelte';
import { QueueState } from './queue.svelte';
import { RunState } from './run.svelte';
import { SettingsState } from './settings.svelte';
import { SweepState } from './sweep.svelte';

export type StudioTab = 'create' | 'gallery' | 'sweep' | 'queue' | 'compare' | 'evaluation';

export class Studio {
  readonly settings: SettingsState;
  readonly run: RunState;
  readonly gallery: GalleryState;
  readonly sweep: SweepState;
  readonly queue: QueueState;
  readonly compare: CompareState;
  tab = $state<StudioTab>('create');
  trajectorySampleId = $state<number | null>(null);
  notice = $state<{ text: string; tone: 'info' | 'error' } | null>(null);
  disconnected = $state(false);
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly connection: StudioConnection) {
    const { api } = connection;
    this.settings = new SettingsState(api);
    this.run = new RunState(api);
    this.gallery = new GalleryState(api);
    this.sweep = new SweepState(api);
    this.queue = new QueueState(api);
    // A fork or run B opens the compare view on its pair once drawn, over the trajectory it came from.
    this.compare = new CompareState(api, () => {
      this.trajectorySampleId = null;
      this.tab = 'compare';
    });
    api.onRunEvent((event) => {
      this.compare.handle(event);
      this.run.handle(event);
      this.sweep.handle(event);
      this.queue.handle(event);
      if (event.type === 'sample') this.gallery.add(event.sample);
      if (event.type === 'finished') void this.gallery.refreshFacets().catch(() => undefined);
      if (event.type === 'finished' && event.status === 'failed' && event.message) this.notify(event.message, 'error');
    });
    connection.onDisconnect(() => (this.disconnected = true));
    connection.onReconnect(() => void this.reconnected());
  }

  /** The service came back (a restart keeps the token): read everything again, keep the user's settings. */
  private async reconnected(): Promise<void> {
    this.disconnected = false;
    try {
      await Promise.all([this.settings.refreshAfterReconnect(), this.gallery.reload(), this.queue.refresh()]);
      this.run.restore(this.queue.entries);
      this.notify('The studio is back; this page reconnected.');
    } catch (error) {
      this.notify((error as Error).message, 'error');
    }
  }

  async initialise(): Promise<void> {
    await Promise.all([this.settings.initialise(), this.gallery.reload(), this.queue.refresh()]);
  }

  notify(text: string, tone: 'info' | 'error' = 'info'): void {
    this.notice = { text, tone };
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = null), tone === 'error' ? 8000 : 3500);
  }

  /** Runs a user action and shows its error, if any, as a notice instead of losing it. */
  async attempt(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.notify((error as Error).message, 'error');
    }
  }

  /** Starts a run, or queues it behind the one going: Generate never waits for the GPU. */
  async generate(): Promise<void> {
    // Ctrl+Enter while the model loads waits for it rather than being refused.
    if (this.settings.loadingModel) await this.settings.modelReady();
    const problem = this.settings.generateProblem;
    if (problem) {
      this.notify(problem, 'error');
      return;
    }
    try {
      const request = this.settings.nextRequest();
      const queued = this.run.busy || this.sweep.busy;
      if (!queued) this.tab = 'create';
      await this.run.start(request, this.settings.recordTrajectory);
      if (queued) this.notify(`Queued ${request.seeds.length} image${request.seeds.length === 1 ? '' : 's'}; the Queue tab shows where it stands.`);
      else if (this.run.phase === 'failed' && this.run.message) this.notify(this.run.message, 'error');
    } catch (error) {
      this.notify((error as Error).message, 'error');
    }
  }

  async cancel(): Promise<void> {
    if (this.run.busy) await this.run.cancel();
    if (this.sweep.busy) await this.sweep.cancel();
  }
}

const studioKey = Symbol('studio');

export function provideStudio(studio: Studio): void {
  setContext(studioKey, studio);
}

export function useStudio(): Studio {
  const studio = getContext<Studio | undefined>(studioKey);
  if (!studio) throw new Error('useStudio() called outside the studio root.');
  return studio;
}
