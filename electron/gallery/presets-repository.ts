import type Database from 'better-sqlite3';
import { type PresetRecord, PresetSettings, type PresetSettingsInput } from '../../common/contract/gallery';

interface PresetRow {
  id: number;
  name: string;
  settings: string;
  updated_at: number;
}

function toPresetRecord(row: PresetRow): PresetRecord {
  return { id: row.id, name: row.name, settings: PresetSettings.parse(JSON.parse(row.settings)), updatedAt: row.updated_at };
}

/** Named sampler settings; names are unique regardless of case. */
export class PresetsRepository {
  private readonly upsertStatement;
  private readonly byNameStatement;
  private readonly getStatement;
  private readonly listStatement;
  private readonly deleteStatement;

  constructor(db: Database.Database) {
    this.upsertStatement = db.prepare<[string, string, number]>(
      `INSERT INTO presets (name, settings, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
    );
    this.byNameStatement = db.prepare<[string], PresetRow>('SELECT * FROM presets WHERE name = ?');
    this.getStatement = db.prepare<[number], PresetRow>('SELECT * FROM presets WHERE id = ?');
    this.listStatement = db.prepare<[], PresetRow>('SELECT * FROM presets ORDER BY name');
    this.deleteStatement = db.prepare<[number]>('DELETE FROM presets WHERE id = ?');
  }

  /** Saves under `name`, replacing the settings of a preset already called that. */
  save(name: string, settings: PresetSettingsInput): PresetRecord {
    const trimmed = name.trim();
    if (trimmed.length === 0) throw new Error('A preset needs a name; type one and save again.');
    this.upsertStatement.run(trimmed, JSON.stringify(PresetSettings.parse(settings)), Date.now());
    return toPresetRecord(this.byNameStatement.get(trimmed) as PresetRow);
  }

  get(presetId: number): PresetRecord | undefined {
    const row = this.getStatement.get(presetId);
    return row === undefined ? undefined : toPresetRecord(row);
  }

  list(): PresetRecord[] {
    return this.listStatement.all().map(toPresetRecord);
  }

  delete(presetId: number): boolean {
    return this.deleteStatement.run(presetId).changes > 0;
  }
}
