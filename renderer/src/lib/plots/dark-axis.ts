import type uPlot from 'uplot';

/** A uPlot axis in the studio's dark theme; `options` adds the label, sizes and the rest. */
export function darkAxis(options: uPlot.Axis = {}): uPlot.Axis {
  return { stroke: '#9aa3b2', grid: { stroke: '#2a303c', width: 1 }, ticks: { stroke: '#2a303c' }, ...options };
}
