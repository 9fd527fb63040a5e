/** Short human renderings of numbers the studio shows. */

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 1) return '<1 s';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  if (minutes < 60) return `${minutes} min ${rest.toString().padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${(minutes % 60).toString().padStart(2, '0')} min`;
}

export function formatRate(stepsPerSecond: number): string {
  if (!Number.isFinite(stepsPerSecond) || stepsPerSecond <= 0) return '–';
  return stepsPerSecond >= 10 ? `${stepsPerSecond.toFixed(0)} steps/s` : `${stepsPerSecond.toFixed(1)} steps/s`;
}

export function formatScale(scale: number): string {
  return Number.isInteger(scale) ? scale.toFixed(1) : String(Number(scale.toFixed(3)));
}

export function formatTime(epochMs: number): string {
  return new Date(epochMs).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Parse "1, 2.5, 4" into scales; null when any entry is not a non-negative number. */
export function parseScaleList(text: string): number[] | null {
  const parts = text.split(/[,\s]+/).filter((part) => part !== '');
  if (parts.length === 0) return null;
  const values = parts.map(Number);
  return values.every((value) => Number.isFinite(value) && value >= 0) ? values : null;
}
