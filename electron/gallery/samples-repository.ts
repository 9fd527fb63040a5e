import type Database from 'better-sqlite3';
import {
  type ClassCount,
  type SampleDetail,
  type SampleEdit,
  type SamplePage,
  SampleQuery,
  type SampleSort,
  type SampleRecord,
} from '../../common/contract/gallery';
import { GuidanceMode, RecordedRunRequest, SamplerName } from '../../common/contract/run-request';
import { decodePng, downscale, encodePng, pngSize, type RgbaImage } from '../png/image';
import { GalleryError } from './gallery-error';
import type { RunsRepository } from './runs-repository';
import { RUN_CFG_SCALE_SQL, type ParsedSampleQuery, sampleFilterSql } from './sample-filter';
import type { NewTrajectoryStep, TrajectoriesRepository } from './trajectories-repository';

/** ORDER BY of each order but newest first; the id breaks ties so pages never overlap. Samples without a confidence come last. */
const sortOrderSql: Record<Exclude<SampleSort, 'newest'>, string> = {
  oldest: 's.id ASC',
  'scale-high': 's.scale DESC, s.id DESC',
  'scale-low': 's.scale ASC, s.id DESC',
  'confidence-high': 's.confidence IS NULL, s.confidence DESC, s.id DESC',
  'confidence-low': 's.confidence IS NULL, s.confidence ASC, s.id DESC',
};

/** Images with a longer side above this get a thumbnail of this size for the grid. */
export const THUMBNAIL_MAX_SIDE = 128;

export interface NewSample {
  seed: number;
  /** The finished image, PNG-encoded. */
  png: Uint8Array;
  /** The same image as pixels, when the caller has them: spares decoding the PNG for a thumbnail. */
  pixels?: RgbaImage;
  /** Final classifier confidence p(y | x₀), when the run had a classifier. */
  confidence?: number | null;
  /** Recorded steps, written in the same transaction as the image. */
  trajectory?: readonly NewTrajectoryStep[];
}

interface SampleRow {
  id: number;
  run_id: number;
  model_id: string;
  class_index: number;
  scale: number;
  mode: string;
  sampler: string;
  steps: string;
  seed: number;
  width: number;
  height: number;
  has_thumbnail: number;
  confidence: number | null;
  favorite: number;
  notes: string;
  created_at: number;
  tags: string;
}

const SAMPLE_COLUMNS = `s.*,
  (SELECT thumbnail_png IS NOT NULL FROM sample_images i WHERE i.sample_id = s.id) AS has_thumbnail,
  (SELECT json_group_array(tag) FROM (SELECT tag FROM sample_tags t WHERE t.sample_id = s.id ORDER BY tag)) AS tags`;

function toSampleRecord(row: SampleRow, cfgScale: number | null): SampleRecord {
  return {
    id: row.id,
    runId: row.run_id,
    modelId: row.model_id,
    classIndex: row.class_index,
    scale: row.scale,
    mode: GuidanceMode.parse(row.mode),
    sampler: SamplerName.parse(row.sampler),
    steps: row.steps,
    seed: row.seed,
    width: row.width,
    height: row.height,
    hasThumbnail: row.has_thumbnail === 1,
    cfgScale,
    confidence: row.confidence,
    favorite: row.favorite === 1,
    tags: JSON.parse(row.tags) as string[],
    notes: row.notes,
    createdAt: row.created_at,
  };
}

function thumbnailFor(png: Uint8Array, pixels: RgbaImage | undefined): Uint8Array | null {
  const { width, height } = pngSize(png);
  if (Math.max(width, height) <= THUMBNAIL_MAX_SIDE) return null;
  return encodePng(downscale(pixels ?? decodePng(png), THUMBNAIL_MAX_SIDE));
}

/** The run settings each sample row copies, so filtered pages need no join. */
const SampleSettings = RecordedRunRequest.pick({ modelId: true, classIndex: true, scale: true, mode: true, sampler: true, steps: true });
type SampleSettings = ReturnType<typeof SampleSettings.parse>;

/** Runs whose w is kept for the pages that show their samples. */
const CACHED_RUN_WEIGHTS = 4096;

/** Runs whose settings are kept for their next samples; a studio draws one run at a time. */
const CACHED_RUN_SETTINGS = 8;

/** Gallery items: their images, the queries of the grid, and the edits a user makes. */
export class SamplesRepository {
  private readonly db: Database.Database;
  private readonly runs: RunsRepository;
  private readonly trajectories: TrajectoriesRepository;
  private readonly runSettingsStatement;
  private readonly explain: (error: unknown) => unknown;
  private readonly settingsByRun = new Map<number, SampleSettings>();
  private readonly runWeightStatement;
  /** w of each run seen, read once per run: a request's JSON may hold a million seeds, so not once per sample row. */
  private readonly weightByRun = new Map<number, number | null>();
  private readonly insertStatement;
  private readonly insertImageStatement;
  private readonly getStatement;
  private readonly deleteStatement;
  private readonly favoriteStatement;
  private readonly notesStatement;
  private readonly addTagStatement;
  private readonly removeTagStatement;
  private readonly clearTagsStatement;
  private readonly imageStatement;
  private readonly thumbnailStatement;
  private readonly modelCountsStatement;
  private readonly tagsStatement;
  private readonly pageStatements = new Map<string, Database.Statement>();
  private readonly addTransaction;

  /** `explain` turns a failed write into the error the user sees. */
  constructor(db: Database.Database, runs: RunsRepository, trajectories: TrajectoriesRepository, explain: (error: unknown) => unknown = (error) => error) {
    this.db = db;
    this.explain = explain;
    this.runs = runs;
    this.trajectories = trajectories;
    // Only the fields a sample copies are read out of the request: its seed list may be a million long.
    // A run that switches class part way ends steered to the switched class, which its confidence is of.
    this.runSettingsStatement = db.prepare<[number], Record<keyof SampleSettings, unknown>>(
      `SELECT model_id AS modelId, coalesce(request ->> '$.switchAt.classIndex', request ->> '$.classIndex') AS classIndex, request ->> '$.scale' AS scale,
              request ->> '$.mode' AS mode, request ->> '$.sampler' AS sampler, request ->> '$.steps' AS steps
       FROM runs WHERE id = ?`,
    );
    this.insertStatement = db.prepare(
      `INSERT INTO samples (run_id, model_id, class_index, scale, mode, sampler, steps, seed, width, height, confidence, created_at)
       VALUES (@runId, @modelId, @classIndex, @scale, @mode, @sampler, @steps, @seed, @width, @height, @confidence, @createdAt)`,
    );
    this.insertImageStatement = db.prepare<[number, Uint8Array, Uint8Array | null]>(
      'INSERT INTO sample_images (sample_id, png, thumbnail_png) VALUES (?, ?, ?)',
    );
    this.getStatement = db.prepare<[number], SampleRow>(`SELECT ${SAMPLE_COLUMNS} FROM samples s WHERE s.id = ?`);
    this.runWeightStatement = db.prepare<[number], { cfgScale: number | null }>(`SELECT ${RUN_CFG_SCALE_SQL} AS cfgScale FROM runs r WHERE r.id = ?`);
    this.deleteStatement = db.prepare<[number]>('DELETE FROM samples WHERE id = ?');
    this.favoriteStatement = db.prepare<[number, number]>('UPDATE samples SET favorite = ? WHERE id = ?');
    this.notesStatement = db.prepare<[string, number]>('UPDATE samples SET notes = ? WHERE id = ?');
    this.addTagStatement = db.prepare<[number, string]>('INSERT OR IGNORE INTO sample_tags (sample_id, tag) VALUES (?, ?)');
    this.removeTagStatement = db.prepare<[number, string]>('DELETE FROM sample_tags WHERE sample_id = ? AND tag = ?');
    this.clearTagsStatement = db.prepare<[number]>('DELETE FROM sample_tags WHERE sample_id = ?');
    this.imageStatement = db.prepare<[number], { png: Uint8Array }>('SELECT png FROM sample_images WHERE sample_id = ?');
    this.thumbnailStatement = db.prepare<[number], { png: Uint8Array }>(
      'SELECT coalesce(thumbnail_png, png) AS png FROM sample_images WHERE sample_id = ?',
    );
    this.modelCountsStatement = db.prepare<[], { modelId: string; count: number }>(
      'SELECT model_id AS modelId, count(*) AS count FROM samples GROUP BY model_id ORDER BY model_id',
    );
    this.tagsStatement = db.prepare<[], { tag: string }>('SELECT DISTINCT tag FROM sample_tags ORDER BY tag');
    this.addTransaction = db.transaction((runId: number, settings: SampleSettings, sample: NewSample, thumbnail: Uint8Array | null) => {
      const { width, height } = pngSize(sample.png);
      const { lastInsertRowid } = this.insertStatement.run({
        runId,
        ...settings,
        seed: sample.seed,
        width,
        height,
        confidence: sample.confidence ?? null,
        createdAt: Date.now(),
      });
      const sampleId = Number(lastInsertRowid);
      this.insertImageStatement.run(sampleId, sample.png, thumbnail);
      this.trajectories.insert(sampleId, sample.trajectory ?? []);
      return sampleId;
    });
  }

  /**
   * Stores one finished sample: row, image, thumbnail and trajectory in a single
   * transaction, so a crash leaves either all of it or none.
   */
  add(runId: number, sample: NewSample): SampleRecord {
    const settings = this.settingsOf(runId);
    const thumbnail = thumbnailFor(sample.png, sample.pixels);
    let sampleId: number;
    try {
      sampleId = this.addTransaction.immediate(runId, settings, sample, thumbnail);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        this.settingsByRun.delete(runId);
        throw new GalleryError(`Run ${runId} is not in the gallery any more (it was deleted); its sample was not stored.`);
      }
      throw this.explain(error);
    }
    return this.require(sampleId);
  }

  /** The run's settings, read once per run rather than once per sample. */
  private settingsOf(runId: number): SampleSettings {
    const cached = this.settingsByRun.get(runId);
    if (cached !== undefined) return cached;
    const row = this.runSettingsStatement.get(runId);
    if (row === undefined) throw new GalleryError(`Run ${runId} is not in the gallery; start the run before adding its samples.`);
    const settings = SampleSettings.parse(row);
    if (this.settingsByRun.size >= CACHED_RUN_SETTINGS) this.settingsByRun.clear();
    this.settingsByRun.set(runId, settings);
    return settings;
  }

  get(sampleId: number): SampleRecord | undefined {
    const row = this.getStatement.get(sampleId);
    return row === undefined ? undefined : this.recordOf(row);
  }

  /** One sample with the run that made it and its recorded trajectory steps. */
  detail(sampleId: number): SampleDetail | undefined {
    const sample = this.get(sampleId);
    if (sample === undefined) return undefined;
    const run = this.runs.get(sample.runId);
    if (run === undefined) throw new GalleryError(`Sample ${sampleId} refers to run ${sample.runId}, which is missing.`);
    return { sample, run, trajectory: this.trajectories.steps(sampleId) };
  }

  /** Newest first, filtered, one page at a time (keyset paging on the sample id). */
  list(query: SampleQuery = {}): SamplePage {
    const parsed = SampleQuery.parse(query);
    const sort = parsed.sort ?? 'newest';
    const counted = sampleFilterSql({ ...parsed, before: undefined }, { keyset: false });
    const { matching } = this.pageStatement(`SELECT count(*) AS matching FROM samples s ${counted.where}`).get(counted.params) as { matching: number };
    if (sort === 'newest') {
      const filter = sampleFilterSql(parsed, { keyset: true });
      const sql = `SELECT ${SAMPLE_COLUMNS} FROM samples s ${filter.where} ORDER BY s.id DESC LIMIT @pageSize`;
      const rows = this.pageStatement(sql).all({ ...filter.params, pageSize: parsed.limit + 1 }) as SampleRow[];
      const items = rows.slice(0, parsed.limit).map((row) => this.recordOf(row));
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > parsed.limit && last !== undefined ? last.id : null, nextOffset: null, matching };
    }
    // The other orders page by offset: their keys repeat (many samples share a scale), so no single-column cursor fits.
    const offset = parsed.offset ?? 0;
    const sql = `SELECT ${SAMPLE_COLUMNS} FROM samples s ${counted.where} ORDER BY ${sortOrderSql[sort]} LIMIT @pageSize OFFSET @offset`;
    const rows = this.pageStatement(sql).all({ ...counted.params, pageSize: parsed.limit + 1, offset }) as SampleRow[];
    const items = rows.slice(0, parsed.limit).map((row) => this.recordOf(row));
    return { items, nextCursor: null, nextOffset: rows.length > parsed.limit ? offset + parsed.limit : null, matching };
  }

  /** How many samples each class has under the same filters (the class filter itself and paging are ignored). */
  countsByClass(query: Omit<SampleQuery, 'classIndex' | 'before' | 'limit'> = {}): ClassCount[] {
    const parsed: Omit<ParsedSampleQuery, 'limit'> = { ...SampleQuery.parse(query), classIndex: undefined, before: undefined };
    const filter = sampleFilterSql(parsed, { keyset: false });
    const sql = `SELECT s.class_index AS classIndex, count(*) AS count FROM samples s ${filter.where} GROUP BY s.class_index ORDER BY s.class_index`;
    return this.pageStatement(sql).all(filter.params) as ClassCount[];
  }

  /** What the gallery holds, for the filter menus: totals per model, per class of each model, and every tag. */
  facets(): {
    total: number;
    models: { modelId: string; count: number }[];
    classes: { modelId: string; classes: ClassCount[] }[];
    tags: string[];
  } {
    const models = this.modelCountsStatement.all();
    return {
      total: models.reduce((sum, model) => sum + model.count, 0),
      models,
      classes: models.map(({ modelId }) => ({ modelId, classes: this.countsByClass({ modelId }) })),
      tags: this.tagsStatement.all().map((row) => row.tag),
    };
  }

  /** Deletes the sample with its image, thumbnail, tags and trajectory. */
  delete(sampleId: number): boolean {
    return this.deleteStatement.run(sampleId).changes > 0;
  }

  setFavorite(sampleId: number, favorite: boolean): SampleRecord {
    this.favoriteStatement.run(favorite ? 1 : 0, sampleId);
    return this.require(sampleId);
  }

  setNotes(sampleId: number, notes: string): SampleRecord {
    this.notesStatement.run(notes, sampleId);
    return this.require(sampleId);
  }

  addTag(sampleId: number, tag: string): SampleRecord {
    this.require(sampleId);
    this.addTagStatement.run(sampleId, tag.trim());
    return this.require(sampleId);
  }

  removeTag(sampleId: number, tag: string): SampleRecord {
    this.removeTagStatement.run(sampleId, tag.trim());
    return this.require(sampleId);
  }

  /** Replaces the sample's tags with exactly these (blank and repeated ones dropped). */
  setTags(sampleId: number, tags: readonly string[]): SampleRecord {
    this.require(sampleId);
    const unique = [...new Set(tags.map((tag) => tag.trim()).filter((tag) => tag.length > 0))];
    this.db.transaction(() => {
      this.clearTagsStatement.run(sampleId);
      for (const tag of unique) this.addTagStatement.run(sampleId, tag);
    })();
    return this.require(sampleId);
  }

  /** Applies one user edit (favorite, tag, untag, notes). */
  edit(change: SampleEdit): SampleRecord {
    switch (change.kind) {
      case 'favorite':
        return this.setFavorite(change.sampleId, change.favorite);
      case 'tag':
        return this.addTag(change.sampleId, change.tag);
      case 'untag':
        return this.removeTag(change.sampleId, change.tag);
      case 'notes':
        return this.setNotes(change.sampleId, change.notes);
    }
  }

  /** The full-size PNG as stored (without a recipe chunk; export adds one). */
  image(sampleId: number): Uint8Array | undefined {
    return this.imageStatement.get(sampleId)?.png;
  }

  /** The grid image: the thumbnail, or the image itself when it is small. */
  thumbnail(sampleId: number): Uint8Array | undefined {
    return this.thumbnailStatement.get(sampleId)?.png;
  }

  private recordOf(row: SampleRow): SampleRecord {
    let weight = this.weightByRun.get(row.run_id);
    if (weight === undefined) {
      weight = this.runWeightStatement.get(row.run_id)?.cfgScale ?? null;
      if (this.weightByRun.size >= CACHED_RUN_WEIGHTS) this.weightByRun.clear();
      // A run's request never changes once started and runs are never deleted, so its w is kept as long as the repository lives.
      this.weightByRun.set(row.run_id, weight);
    }
    return toSampleRecord(row, weight);
  }

  private pageStatement(sql: string): Database.Statement {
    let statement = this.pageStatements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.pageStatements.set(sql, statement);
    }
    return statement;
  }

  private require(sampleId: number): SampleRecord {
    const sample = this.get(sampleId);
    if (sample === undefined) throw new GalleryError(`Sample ${sampleId} is not in the gallery (it may have been deleted).`);
    return sample;
  }
}
