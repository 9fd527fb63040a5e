/**
 * An axis range for uPlot that stays readable when every value is the same (a single point):
 * uPlot would show ±0.01 around it, which reads as a measurement precision nobody made.
 */
export function paddedRange(min: number | null, max: number | null): [number, number] {
  if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (max > min) {
    const margin = (max - min) * 0.05;
    return [min - margin, max + margin];
  }
  // One value: a tenth of its size either side, at least 1 (around 0, from -1 to 1).
  const half = Math.max(Math.abs(min) * 0.1, 1);
  return [min - half, min + half];
}
