/**
 * The gallery schema, as numbered steps. Step N turns a version N−1 database into
 * version N; `PRAGMA user_version` records how far a file has come. Released steps are
 * never edited: a change to the schema is a new step at the end.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
}

const RUN_STATUSES = "'running', 'completed', 'cancelled', 'failed', 'interrupted'";

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'models, runs, samples with images and tags, trajectories, presets',
    sql: `
      CREATE TABLE models (
        id TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        manifest TEXT NOT NULL,
        added_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        model_id TEXT NOT NULL REFERENCES models(id),
        model_sha256 TEXT NOT NULL,
        request TEXT NOT NULL,
        provider TEXT NOT NULL,
        noise_algorithm TEXT NOT NULL,
        app_version TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN (${RUN_STATUSES})),
        error TEXT,
        owner_pid INTEGER,
        started_at INTEGER NOT NULL,
        ended_at INTEGER
      ) STRICT;
      CREATE INDEX runs_by_status ON runs(status) WHERE status = 'running';

      -- Settings that filters use are copied from the run so one index serves a filtered page.
      CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL,
        class_index INTEGER NOT NULL,
        scale REAL NOT NULL,
        mode TEXT NOT NULL,
        sampler TEXT NOT NULL,
        steps TEXT NOT NULL,
        seed INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        confidence REAL,
        favorite INTEGER NOT NULL DEFAULT 0 CHECK (favorite IN (0, 1)),
        notes TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX samples_by_run ON samples(run_id);
      CREATE INDEX samples_by_model_class ON samples(model_id, class_index);
      CREATE INDEX samples_by_class ON samples(class_index);
      CREATE INDEX samples_favorites ON samples(favorite) WHERE favorite = 1;

      -- Image bytes live apart from the rows that queries scan, so paging never reads them.
      CREATE TABLE sample_images (
        sample_id INTEGER PRIMARY KEY REFERENCES samples(id) ON DELETE CASCADE,
        png BLOB NOT NULL,
        thumbnail_png BLOB
      ) STRICT;

      CREATE TABLE sample_tags (
        sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        PRIMARY KEY (sample_id, tag)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX sample_tags_by_tag ON sample_tags(tag, sample_id);

      CREATE TABLE trajectory_steps (
        sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
        step_index INTEGER NOT NULL,
        t INTEGER NOT NULL,
        xt_png BLOB NOT NULL,
        pred_x0_png BLOB NOT NULL,
        probability REAL,
        gradient_norm REAL,
        PRIMARY KEY (sample_id, step_index)
      ) STRICT;

      CREATE TABLE presets (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        settings TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'evaluation runs and their metric results per guidance scale',
    sql: `
      CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        spec TEXT NOT NULL,
        model_id TEXT NOT NULL REFERENCES models(id),
        status TEXT NOT NULL CHECK (status IN ('pending', ${RUN_STATUSES})),
        error TEXT,
        owner_pid INTEGER,
        created_at INTEGER NOT NULL,
        ended_at INTEGER
      ) STRICT;

      CREATE TABLE evaluation_results (
        evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
        scale REAL NOT NULL,
        sample_count INTEGER NOT NULL,
        fid REAL,
        inception_score REAL,
        precision REAL,
        recall REAL,
        class_accuracy REAL,
        PRIMARY KEY (evaluation_id, scale)
      ) STRICT;

      ALTER TABLE runs ADD COLUMN evaluation_id INTEGER REFERENCES evaluations(id) ON DELETE SET NULL;
      CREATE INDEX runs_by_evaluation ON runs(evaluation_id) WHERE evaluation_id IS NOT NULL;
    `,
  },
  {
    version: 3,
    description: "the guiding classifier's sha256 on each run",
    sql: `
      ALTER TABLE runs ADD COLUMN classifier_sha256 TEXT;
    `,
  },
  {
    version: 4,
    description: "a lease on each running run, so another studio on the same folder sees when its owner is gone",
    sql: `
      -- A random token per studio process: a pid alone may be reused, or collide across machines.
      ALTER TABLE runs ADD COLUMN owner_token TEXT;
      -- Renewed every few seconds while the owner samples; a run past it has no live owner.
      ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
    `,
  },
  {
    version: 5,
    description: 'the job queue: every run, sweep cell, finish-run and evaluation as an entry that outlives the process',
    sql: `
      CREATE TABLE queue_entries (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('run', 'sweep-cell', 'finish-run', 'evaluation')),
        -- What the entry draws, as JSON: a run request and its options, or an evaluation id.
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'paused', 'completed', 'cancelled', 'failed')),
        -- Order among the waiting entries; rewritten when the user moves one.
        position INTEGER NOT NULL,
        label TEXT NOT NULL,
        sweep_id TEXT,
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,
        evaluation_id INTEGER REFERENCES evaluations(id) ON DELETE SET NULL,
        total_samples INTEGER NOT NULL,
        error TEXT,
        -- The studio that holds the entry; a dead owner's entries are taken over when a studio opens.
        owner_pid INTEGER,
        owner_token TEXT,
        created_at INTEGER NOT NULL,
        ended_at INTEGER
      ) STRICT;
      CREATE INDEX queue_entries_waiting ON queue_entries(position) WHERE status IN ('queued', 'paused', 'running');

      CREATE TABLE queue_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        paused INTEGER NOT NULL CHECK (paused IN (0, 1))
      ) STRICT;
      INSERT INTO queue_state (id, paused) VALUES (1, 0);
    `,
  },
  {
    version: 6,
    description: "each evaluation figure's companions: sFID, the Inception Score's splits, density and coverage, and what it was measured on",
    sql: `
      ALTER TABLE evaluation_results ADD COLUMN sfid REAL;
      -- JSON array of the samples in each split, in drawing order; NULL for figures made with ten equal splits before.
      ALTER TABLE evaluation_results ADD COLUMN inception_split_sizes TEXT;
      ALTER TABLE evaluation_results ADD COLUMN density REAL;
      ALTER TABLE evaluation_results ADD COLUMN coverage REAL;
      -- JSON: seeds, sampler settings, sha256 of the evaluator and the reference batch's files.
      ALTER TABLE evaluation_results ADD COLUMN provenance TEXT;
    `,
  },
  {
    version: 7,
    description: "the shards a sharded evaluation collected, so a restarted coordinator does not have them drawn again",
    sql: `
      CREATE TABLE evaluation_shards (
        evaluation_id INTEGER NOT NULL REFERENCES evaluations(id) ON DELETE CASCADE,
        scale REAL NOT NULL,
        first_seed INTEGER NOT NULL,
        seed_count INTEGER NOT NULL,
        worker TEXT NOT NULL,
        -- The worker's result as JSON: seeds, features and logits (float32, base64), seconds.
        result TEXT NOT NULL,
        PRIMARY KEY (evaluation_id, scale, first_seed)
      ) STRICT;
    `,
  },
  {
    version: 8,
    description: "trajectory steps kept compactly (exact float32 xₜ, 8-bit x̂₀) with PNGs made when viewed, and what the classifier and the evaluator saw at each step",
    sql: `
      -- SQLite cannot drop NOT NULL from a column, so the table is rebuilt; old rows keep their PNGs.
      CREATE TABLE trajectory_steps_compact (
        sample_id INTEGER NOT NULL REFERENCES samples(id) ON DELETE CASCADE,
        step_index INTEGER NOT NULL,
        t INTEGER NOT NULL,
        -- Steps recorded before version 8: PNG bytes, 8 bits per value.
        xt_png BLOB,
        pred_x0_png BLOB,
        -- Steps recorded since: xₜ as little-endian float32 [C, H, W], exact, and x̂₀ as bytes [C, H, W] (toByte).
        xt_f32 BLOB,
        pred_x0_u8 BLOB,
        probability REAL,
        gradient_norm REAL,
        -- The classifier on this step's xₜ at timestep classifier_t: p(y), the top classes as JSON,
        -- and |∇ₓ log p(y|xₜ)| per pixel as bytes [H, W] scaled so 255 is classifier_gradient_max.
        classifier_t INTEGER,
        classifier_probability REAL,
        classifier_top TEXT,
        classifier_heat BLOB,
        classifier_gradient_max REAL,
        -- The evaluator's p(y | x̂₀) on this step's x̂₀.
        evaluator_probability REAL,
        PRIMARY KEY (sample_id, step_index),
        CHECK ((xt_png IS NOT NULL AND pred_x0_png IS NOT NULL) OR (xt_f32 IS NOT NULL AND pred_x0_u8 IS NOT NULL)),
        CHECK ((classifier_t IS NULL) = (classifier_heat IS NULL))
      ) STRICT;
      INSERT INTO trajectory_steps_compact (sample_id, step_index, t, xt_png, pred_x0_png, probability, gradient_norm)
        SELECT sample_id, step_index, t, xt_png, pred_x0_png, probability, gradient_norm FROM trajectory_steps;
      DROP TABLE trajectory_steps;
      ALTER TABLE trajectory_steps_compact RENAME TO trajectory_steps;
    `,
  },
  {
    version: 9,
    description: 'why a run did not run on the provider its request asked for: a GPU provider that did not start, or that failed part way and left the rest to the CPU',
    sql: `
      -- The provider asked for is the request's, the one that ran is provider; NULL where the run ran as asked, or predates the column.
      ALTER TABLE runs ADD COLUMN provider_fallback TEXT;
    `,
  },
];

export const LATEST_VERSION = migrations.length;
