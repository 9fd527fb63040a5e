import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GalleryError, LATEST_VERSION, openGallery } from '../../../electron/gallery';
import { openDatabase } from '../../../electron/gallery/open-database';
import { APP_VERSION, NOISE_ALGORITHM, temporaryFolder, testManifest, testPng, testRequest } from './gallery-fixtures';

let folder: ReturnType<typeof temporaryFolder>;
let file: string;

beforeEach(() => {
  folder = temporaryFolder();
  file = join(folder.dir, 'gallery.sqlite');
});
afterEach(() => folder.remove());

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  const result = db.pragma('integrity_check', { simple: true }) as string;
  db.close();
  return result;
}

/** Writes one model, run and sample the way the version-1 schema stores them. */
function seedVersionOne(path: string): void {
  const db = new Database(path);
  db.prepare('INSERT INTO models (id, sha256, manifest, added_at) VALUES (?, ?, ?, ?)').run(
    'tiny-test', 'b'.repeat(64), JSON.stringify(testManifest()), 1,
  );
  db.prepare(
    `INSERT INTO runs (id, model_id, model_sha256, request, provider, noise_algorithm, app_version, status, started_at, ended_at)
     VALUES (1, 'tiny-test', ?, ?, 'cpu', ?, ?, 'completed', 1, 2)`,
  ).run('b'.repeat(64), JSON.stringify(testRequest()), NOISE_ALGORITHM, APP_VERSION);
  db.prepare(
    `INSERT INTO samples (id, run_id, model_id, class_index, scale, mode, sampler, steps, seed, width, height, favorite, notes, created_at)
     VALUES (1, 1, 'tiny-test', 7, 4, 'conditional', 'ddim', 'ddim25', 3, 32, 32, 1, 'old note', 5)`,
  ).run();
  db.prepare('INSERT INTO sample_images (sample_id, png) VALUES (1, ?)').run(testPng(32, 3));
  db.prepare(`INSERT INTO sample_tags (sample_id, tag) VALUES (1, 'kept')`).run();
  db.close();
}

describe('migrations', () => {
  it('brings an empty file to the latest version with every table', () => {
    writeFileSync(file, '');
    const gallery = openGallery(file);
    expect(gallery.previousVersion).toBe(0);
    expect(gallery.backupFile).toBeNull();
    gallery.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_VERSION);
    const tables = (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['evaluation_results', 'evaluation_shards', 'evaluations', 'models', 'presets', 'queue_entries', 'queue_state', 'runs', 'sample_images', 'sample_tags', 'samples', 'trajectory_steps']);
    db.close();
    expect(integrity(file)).toBe('ok');
  });

  for (let version = 1; version < LATEST_VERSION; version++) {
    it(`migrates a version ${version} file, keeping its samples and a backup of the old file`, () => {
      const { db } = openDatabase(file, { targetVersion: version });
      expect(db.pragma('user_version', { simple: true })).toBe(version);
      db.close();
      seedVersionOne(file);

      const gallery = openGallery(file);
      expect(gallery.previousVersion).toBe(version);
      const sample = gallery.samples.get(1);
      expect(sample).toMatchObject({ classIndex: 7, seed: 3, favorite: true, notes: 'old note', tags: ['kept'] });
      expect(gallery.runs.get(1)).toMatchObject({ status: 'completed', evaluationId: null, classifierSha256: null, sampleCount: 1 });
      expect(gallery.exportPng(1).recipe.seed).toBe(3);
      const backup = gallery.backupFile;
      gallery.close();

      expect(backup).not.toBeNull();
      const old = new Database(backup as string, { readonly: true });
      expect(old.pragma('user_version', { simple: true })).toBe(version);
      expect(old.prepare('SELECT count(*) AS n FROM samples').get()).toEqual({ n: 1 });
      old.close();
      expect(integrity(file)).toBe('ok');
    });
  }

  it('opening twice migrates once and takes no second backup', () => {
    openGallery(file).close();
    const again = openGallery(file);
    expect(again.previousVersion).toBe(LATEST_VERSION);
    expect(again.backupFile).toBeNull();
    again.close();
  });

  it('refuses a database from a newer studio and leaves it byte for byte as it was', () => {
    const db = new Database(file);
    db.exec('CREATE TABLE future (x INTEGER)');
    db.pragma(`user_version = ${LATEST_VERSION + 1}`);
    db.close();
    const before = readFileSync(file);
    expect(() => openGallery(file)).toThrow(GalleryError);
    expect(() => openGallery(file)).toThrow(/newer Guided Diffusion Studio .*Update the studio/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('refuses a file that is not a database and leaves it unchanged', () => {
    const text = 'these are my notes, not a gallery\n'.repeat(200);
    writeFileSync(file, text);
    expect(() => openGallery(file)).toThrow(/is not a Guided Diffusion Studio gallery .*not an SQLite database/);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});
