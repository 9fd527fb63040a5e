import type Database from 'better-sqlite3';
import type { ModelRecord } from '../../common/contract/gallery';
import { ModelManifest } from '../../common/models/manifest';

interface ModelRow {
  id: string;
  sha256: string;
  manifest: string;
  added_at: number;
}

export interface StoredModel {
  record: ModelRecord;
  manifest: ModelManifest;
}

function toStoredModel(row: ModelRow): StoredModel {
  const manifest = ModelManifest.parse(JSON.parse(row.manifest));
  return {
    manifest,
    record: {
      id: row.id,
      sha256: row.sha256,
      name: manifest.name,
      imageSize: manifest.image.size,
      classCount: manifest.classes.count,
      addedAt: row.added_at,
    },
  };
}

/** The models that runs were made with; a run's recipe refers to one of these. */
export class ModelsRepository {
  private readonly upsertStatement;
  private readonly getStatement;
  private readonly listStatement;

  constructor(db: Database.Database) {
    this.upsertStatement = db.prepare<[string, string, string, number]>(
      `INSERT INTO models (id, sha256, manifest, added_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET sha256 = excluded.sha256, manifest = excluded.manifest`,
    );
    this.getStatement = db.prepare<[string], ModelRow>('SELECT * FROM models WHERE id = ?');
    this.listStatement = db.prepare<[], ModelRow>('SELECT * FROM models ORDER BY id');
  }

  /** Records the model (or its new version: runs keep the sha256 they were made with). */
  register(manifest: ModelManifest, sha256: string): ModelRecord {
    const checked = ModelManifest.parse(manifest);
    this.upsertStatement.run(checked.id, sha256, JSON.stringify(checked), Date.now());
    return this.get(checked.id)?.record as ModelRecord;
  }

  get(id: string): StoredModel | undefined {
    const row = this.getStatement.get(id);
    return row === undefined ? undefined : toStoredModel(row);
  }

  list(): ModelRecord[] {
    return this.listStatement.all().map((row) => toStoredModel(row).record);
  }
}
