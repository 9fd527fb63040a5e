/** How an evaluation ends, on a real gallery file: what the gallery keeps and what the page hears. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { galleryFile, openGallery, type Gallery } from '../../../electron/gallery';
import type { EvaluationEvent } from '../../../electron/service/evaluation-events';
import { endEvaluation, stoppedOrFailed } from '../../../electron/service/evaluation-ending';
import { testManifest } from '../gallery/gallery-fixtures';
import { quickEvaluationSpec } from '../metrics/evaluation-fixture';

let dataDir: string;
let gallery: Gallery;
let heard: EvaluationEvent[];
const listener = { emit: (event: EvaluationEvent) => heard.push(event) };

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'gds-evaluation-ending-'));
  gallery = openGallery(galleryFile(dataDir));
  // An evaluation belongs to a model the gallery knows.
  gallery.models.register(testManifest(quickEvaluationSpec.modelId), 'b'.repeat(64));
  heard = [];
});

afterEach(() => {
  gallery.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the end of an evaluation', () => {
  it('keeps a failure with its sentence and tells the page the same', () => {
    const { id } = gallery.evaluations.create(quickEvaluationSpec);
    const outcome = endEvaluation(gallery, listener, id, stoppedOrFailed(false, new Error('The evaluator ran out of memory; lower the batch size.')));
    expect(outcome).toEqual({ status: 'failed', message: 'The evaluator ran out of memory; lower the batch size.' });
    expect(gallery.evaluations.get(id)).toMatchObject({ status: 'failed', error: 'The evaluator ran out of memory; lower the batch size.' });
    expect(heard).toEqual([{ type: 'finished', evaluationId: id, status: 'failed', message: 'The evaluator ran out of memory; lower the batch size.' }]);
  });

  it('keeps a stop without a sentence, whatever the error said', () => {
    const { id } = gallery.evaluations.create(quickEvaluationSpec);
    endEvaluation(gallery, listener, id, stoppedOrFailed(true, new Error('This operation was aborted')));
    expect(gallery.evaluations.get(id)).toMatchObject({ status: 'cancelled', error: null });
    expect(heard).toEqual([{ type: 'finished', evaluationId: id, status: 'cancelled', message: null }]);
  });

  it('words a thrown non-error as its text', () => {
    expect(stoppedOrFailed(false, 'the worker vanished')).toEqual({ status: 'failed', message: 'the worker vanished' });
  });

  it('marks a finished evaluation completed', () => {
    const { id } = gallery.evaluations.create(quickEvaluationSpec);
    endEvaluation(gallery, listener, id, { status: 'completed', message: null });
    expect(gallery.evaluations.get(id)).toMatchObject({ status: 'completed', error: null });
    expect(heard).toEqual([{ type: 'finished', evaluationId: id, status: 'completed', message: null }]);
  });
});
