/**
 * Holds the write lock of an SQLite file from a separate process, as another program
 * using the same gallery would. It prints "ready", and on a line "lock" on stdin takes the
 * lock (BEGIN IMMEDIATE) and prints "locked"; after the hold time it commits and prints "released".
 * Usage: lock-holder.ts <gallery file> <hold ms, 0 = until killed>
 */
import Database from 'better-sqlite3';
import { createInterface } from 'node:readline';

const [file, holdText = '0'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: lock-holder.ts <gallery file> [hold ms]');
const holdMs = Number(holdText);

const db = new Database(file, { timeout: 30_000 });
const release = (): void => {
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\n');
  process.exit(0);
};
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line !== 'lock') return;
  db.exec('BEGIN IMMEDIATE');
  process.stdout.write('locked\n');
  if (holdMs > 0) setTimeout(release, holdMs);
});
process.stdout.write('ready\n');
