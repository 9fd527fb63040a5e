/**
 * A sampling job stand-in run as a separate process: it opens the gallery, starts a run
 * and commits samples (with a trajectory) one by one, printing each id once committed.
 * Usage: writer-process.ts <gallery file> <sample count, 0 = until killed> <image size>
 */
import { openGallery } from '../../../electron/gallery';
import { APP_VERSION, NOISE_ALGORITHM, testManifest, testPng, testRequest } from './gallery-fixtures';

const [file, countText = '0', sizeText = '32'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: writer-process.ts <gallery file> [count] [size]');
const count = Number(countText);
const size = Number(sizeText);

const gallery = openGallery(file);
gallery.models.register(testManifest(), 'b'.repeat(64));
const run = gallery.runs.start({ request: testRequest(), provider: 'cpu', noiseAlgorithm: NOISE_ALGORITHM, appVersion: APP_VERSION });
process.stdout.write(`run ${run.id}\n`);

const xt = new Float32Array(3 * size * size).fill(0.25);
const predX0 = new Uint8Array(3 * size * size).fill(200);
for (let i = 0; count === 0 || i < count; i++) {
  const trajectory = [0, 1, 2, 3].map((index) => ({ index, t: 999 - index * 40, xt, predX0, probability: 0.5, gradientNorm: 1, classifier: null }));
  const sample = gallery.samples.add(run.id, { seed: i, png: testPng(size, i), confidence: 0.5, trajectory });
  // Pipes to the parent are written synchronously on Linux, so a printed id is a committed one.
  process.stdout.write(`committed ${sample.id}\n`);
}
gallery.runs.end(run.id, 'completed');
gallery.close();
process.stdout.write('done\n');
