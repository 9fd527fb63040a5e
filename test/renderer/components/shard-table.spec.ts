import { render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { EvaluationShards } from '../../../common/contract/evaluation';
import ShardTable from '../../../renderer/src/features/evaluation/ShardTable.svelte';

const shards: EvaluationShards = {
  evaluationId: 'studio-3-a1b2c3',
  phase: 'sampling',
  doneSamples: 6,
  totalSamples: 12,
  queueProblem: null,
  workers: [{ worker: 'box-a', shards: 1, samples: 4, samplesPerSecond: 2.5 }],
  shards: [
    { shardId: 'studio-3-a1b2c3-scale0-seeds0', scale: 0, firstSeed: 0, seedCount: 4, status: 'done', worker: 'box-a', workers: ['box-a'], doneSamples: 4, attemptsMade: 1, samplesPerSecond: 2.5, error: null },
    { shardId: 'studio-3-a1b2c3-scale0-seeds4', scale: 0, firstSeed: 4, seedCount: 4, status: 'active', worker: 'box-b', workers: ['box-c', 'box-b'], doneSamples: 2, attemptsMade: 2, samplesPerSecond: null, error: 'worker box-c stopped' },
    { shardId: 'studio-3-a1b2c3-scale0-seeds8', scale: 0, firstSeed: 8, seedCount: 4, status: 'waiting', worker: null, workers: [], doneSamples: 0, attemptsMade: 0, samplesPerSecond: null, error: null },
  ],
};

describe('ShardTable', () => {
  it('shows each shard with its seeds, status, worker and throughput, and each worker with its samples per second', () => {
    render(ShardTable, { shards });
    const rows = within(screen.getByTestId('evaluation-shard-table')).getAllByRole('row').slice(1);
    expect(rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent?.trim()))).toEqual([
      ['studio-3-a1b2c3-scale0-seeds0', '0.0', '0…3', 'done', 'box-a', '4/4', '2.5/s', '1'],
      ['studio-3-a1b2c3-scale0-seeds4', '0.0', '4…7', 'active', 'box-b', '2/4', '—', '2'],
      ['studio-3-a1b2c3-scale0-seeds8', '0.0', '8…11', 'waiting', '—', '0/4', '—', '0'],
    ]);
    // A redone shard names every worker that had it.
    expect(within(rows[1]!).getByText('box-b').getAttribute('title')).toBe('box-c → box-b');
    const workers = within(screen.getByTestId('evaluation-workers')).getAllByRole('row').slice(1);
    expect([...workers[0]!.querySelectorAll('td')].map((cell) => cell.textContent)).toEqual(['box-a', '1', '4', '2.5/s']);
    expect(screen.getByText(/Shards · 6\/12 samples · sampling/)).toBeTruthy();
  });

  it('says when the queue cannot be reached and when no worker has finished a shard', () => {
    render(ShardTable, { shards: { ...shards, workers: [], queueProblem: 'Redis at 10.0.0.5:6379 is not answering; waiting for it to come back.' } });
    expect(screen.getByText(/Redis at 10.0.0.5:6379 is not answering/)).toBeTruthy();
    expect(screen.getByText('No worker has finished a shard yet.')).toBeTruthy();
  });
});
