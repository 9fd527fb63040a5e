/** The gallery grid: filters, the loaded pages of samples, and the open sample. */
import type { SampleDetail, SampleQuery, SampleRecord, SampleSort } from '../../../common/contract/gallery';
import type { GalleryFacets, StudioApi } from '../../../common/contract/studio-api';

export interface GalleryFilters {
  modelId: string | null;
  classIndex: number | null;
  scaleMin: number | null;
  scaleMax: number | null;
  /** Bounds on w of classifier-free guidance; a sample drawn without it matches no bound. */
  cfgScaleMin: number | null;
  cfgScaleMax: number | null;
  favorite: boolean;
  tag: string | null;
  /** Text to find in the notes, any case. */
  notesText: string;
  hideEvaluations: boolean;
  sort: SampleSort;
}

const pageSize = 200;
/** How long a deletion can be undone before the gallery deletes the samples. */
const UNDO_WINDOW_MS = 10_000;

export const noFilters: GalleryFilters = {
  modelId: null,
  classIndex: null,
  scaleMin: null,
  scaleMax: null,
  cfgScaleMin: null,
  cfgScaleMax: null,
  favorite: false,
  tag: null,
  notesText: '',
  hideEvaluations: false,
  sort: 'newest',
};

export function queryOf(filters: GalleryFilters): SampleQuery {
  const query: SampleQuery = { limit: pageSize };
  if (filters.modelId !== null) query.modelId = filters.modelId;
  if (filters.classIndex !== null) query.classIndex = filters.classIndex;
  if (filters.scaleMin !== null) query.scaleMin = filters.scaleMin;
  if (filters.scaleMax !== null) query.scaleMax = filters.scaleMax;
  if (filters.cfgScaleMin !== null) query.cfgScaleMin = filters.cfgScaleMin;
  if (filters.cfgScaleMax !== null) query.cfgScaleMax = filters.cfgScaleMax;
  if (filters.favorite) query.favorite = true;
  if (filters.tag !== null) query.tag = filters.tag;
  if (filters.notesText.trim() !== '') query.notesText = filters.notesText.trim();
  if (filters.hideEvaluations) query.hideEvaluations = true;
  if (filters.sort !== 'newest') query.sort = filters.sort;
  return query;
}

/** Whether a newly finished sample belongs in the grid under the current filters. */
export function matchesFilters(sample: SampleRecord, filters: GalleryFilters): boolean {
  return (
    (filters.modelId === null || sample.modelId === filters.modelId) &&
    (filters.classIndex === null || sample.classIndex === filters.classIndex) &&
    (filters.scaleMin === null || sample.scale >= filters.scaleMin) &&
    (filters.scaleMax === null || sample.scale <= filters.scaleMax) &&
    (filters.cfgScaleMin === null || (sample.cfgScale !== null && sample.cfgScale >= filters.cfgScaleMin)) &&
    (filters.cfgScaleMax === null || (sample.cfgScale !== null && sample.cfgScale <= filters.cfgScaleMax)) &&
    (!filters.favorite || sample.favorite) &&
    (filters.tag === null || sample.tags.includes(filters.tag)) &&
    (filters.notesText.trim() === '' || sample.notes.toLowerCase().includes(filters.notesText.trim().toLowerCase()))
  );
}

export class GalleryState {
  filters = $state<GalleryFilters>({ ...noFilters });
  items = $state.raw<SampleRecord[]>([]);
  nextCursor = $state<number | null>(null);
  nextOffset = $state<number | null>(null);
  /** Samples matching the filters, all pages together. */
  matching = $state(0);
  loading = $state(false);
  facets = $state.raw<GalleryFacets>({ total: 0, models: [], classes: [], tags: [] });
  selectedId = $state<number | null>(null);
  detail = $state.raw<SampleDetail | null>(null);
  error = $state<string | null>(null);
  private generation = 0;

  /** Samples deleted from the grid whose deletion can still be undone. */
  pendingDeletion = $state.raw<number[]>([]);
  private deletionTimer: ReturnType<typeof setTimeout> | undefined;
  /** Samples picked for a bulk action (Ctrl+click, Shift+click for a range), in the order picked. */
  picked = $state.raw<number[]>([]);

  readonly hasMore = $derived(this.nextCursor !== null || this.nextOffset !== null);

  constructor(private readonly api: StudioApi) {}

  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.loading = true;
    try {
      const [page, facets] = await Promise.all([this.api.listSamples(queryOf(this.filters)), this.api.galleryFacets()]);
      if (generation !== this.generation) return;
      this.items = page.items;
      this.nextCursor = page.nextCursor;
      this.nextOffset = page.nextOffset;
      this.matching = page.matching;
      this.facets = facets;
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  /** Counts per model, class and tag change as runs add samples; the filter menus follow. */
  async refreshFacets(): Promise<void> {
    // The matching count too: an evaluation adds samples the page never sees one by one.
    const [facets, page] = await Promise.all([this.api.galleryFacets(), this.api.listSamples({ ...queryOf(this.filters), limit: 1 })]);
    this.facets = facets;
    this.matching = page.matching;
  }

  async loadMore(): Promise<void> {
    if (this.loading || !this.hasMore) return;
    const generation = this.generation;
    this.loading = true;
    try {
      const where = this.nextOffset !== null ? { offset: this.nextOffset } : { before: this.nextCursor ?? undefined };
      const page = await this.api.listSamples({ ...queryOf(this.filters), ...where });
      if (generation !== this.generation) return;
      // Offset pages may repeat a sample that a live run pushed down meanwhile.
      this.items = [...this.items, ...page.items.filter((item) => !this.items.some((known) => known.id === item.id))];
      this.nextCursor = page.nextCursor;
      this.nextOffset = page.nextOffset;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
  }

  setFilters(change: Partial<GalleryFilters>): void {
    this.filters = { ...this.filters, ...change };
    void this.reload();
  }

  /** A sample just finished by a run: show it first without reloading the grid. */
  add(sample: SampleRecord): void {
    this.facets = { ...this.facets, total: this.facets.total + 1 };
    if (!matchesFilters(sample, this.filters) || this.items.some((item) => item.id === sample.id)) return;
    this.matching += 1;
    // In another order the new sample's place is the gallery's to say; the next reload shows it there.
    if (this.filters.sort === 'newest') this.items = [sample, ...this.items];
  }

  async open(sampleId: number): Promise<void> {
    this.selectedId = sampleId;
    try {
      const detail = await this.api.getSample({ sampleId });
      if (this.selectedId === sampleId) this.detail = detail;
    } catch (error) {
      this.error = (error as Error).message;
    }
  }

  close(): void {
    this.selectedId = null;
    this.detail = null;
  }

  private replace(sample: SampleRecord): void {
    this.items = this.items.map((item) => (item.id === sample.id ? sample : item));
    if (this.detail?.sample.id === sample.id) this.detail = { ...this.detail, sample };
  }

  async setFavorite(sampleId: number, favorite: boolean): Promise<void> {
    this.replace(await this.api.editSample({ kind: 'favorite', sampleId, favorite }));
  }

  async setNotes(sampleId: number, notes: string): Promise<void> {
    this.replace(await this.api.editSample({ kind: 'notes', sampleId, notes }));
  }

  async addTag(sampleId: number, tag: string): Promise<void> {
    this.replace(await this.api.editSample({ kind: 'tag', sampleId, tag }));
    if (!this.facets.tags.includes(tag)) this.facets = { ...this.facets, tags: [...this.facets.tags, tag].sort() };
  }

  async removeTag(sampleId: number, tag: string): Promise<void> {
    this.replace(await this.api.editSample({ kind: 'untag', sampleId, tag }));
  }

  async remove(sampleId: number): Promise<void> {
    const index = this.items.findIndex((item) => item.id === sampleId);
    await this.deleteWithUndo([sampleId]);
    const neighbour = this.items[Math.min(index, this.items.length - 1)];
    if (neighbour) await this.open(neighbour.id);
    else this.close();
  }

  /**
   * Takes samples off the grid at once and deletes them in the gallery only when the undo window
   * has passed (or the next deletion starts); Undo meanwhile brings them back untouched.
   */
  async deleteWithUndo(sampleIds: readonly number[]): Promise<void> {
    await this.commitDeletion();
    const ids = [...sampleIds];
    this.items = this.items.filter((item) => !ids.includes(item.id));
    this.picked = this.picked.filter((id) => !ids.includes(id));
    this.facets = { ...this.facets, total: Math.max(0, this.facets.total - ids.length) };
    this.matching = Math.max(0, this.matching - ids.length);
    if (this.selectedId !== null && ids.includes(this.selectedId)) this.close();
    this.pendingDeletion = ids;
    this.deletionTimer = setTimeout(() => void this.commitDeletion().catch((error: Error) => (this.error = error.message)), UNDO_WINDOW_MS);
  }

  /** Brings back the samples of the deletion still in its undo window. */
  async undoDeletion(): Promise<void> {
    clearTimeout(this.deletionTimer);
    this.pendingDeletion = [];
    await this.reload();
  }

  /** Deletes in the gallery what waits in the undo window, now. */
  async commitDeletion(): Promise<void> {
    clearTimeout(this.deletionTimer);
    const ids = this.pendingDeletion;
    this.pendingDeletion = [];
    for (const sampleId of ids) await this.api.deleteSample({ sampleId });
  }

  /** Adds a sample to the picked ones, or takes it out again. */
  togglePick(sampleId: number): void {
    this.picked = this.picked.includes(sampleId) ? this.picked.filter((id) => id !== sampleId) : [...this.picked, sampleId];
  }

  /** Picks every sample shown between the last one picked and this one, both included. */
  pickRange(sampleId: number): void {
    const last = this.picked.at(-1);
    const from = last === undefined ? -1 : this.items.findIndex((item) => item.id === last);
    const to = this.items.findIndex((item) => item.id === sampleId);
    if (from < 0 || to < 0) return this.togglePick(sampleId);
    const range = this.items.slice(Math.min(from, to), Math.max(from, to) + 1).map((item) => item.id);
    this.picked = [...this.picked.filter((id) => !range.includes(id)), ...range];
  }

  clearPicks(): void {
    this.picked = [];
  }

  /** Tags every picked sample; one that fails stops the rest and is named in the error. */
  async tagPicked(tag: string): Promise<number> {
    const ids = this.picked;
    for (const sampleId of ids) await this.addTag(sampleId, tag);
    return ids.length;
  }

  /** Deletes every picked sample, with an undo window. */
  async deletePicked(): Promise<number> {
    const count = this.picked.length;
    await this.deleteWithUndo(this.picked);
    return count;
  }
}
