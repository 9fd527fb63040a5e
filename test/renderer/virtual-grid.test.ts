import { describe, expect, it } from 'vitest';
import { gridWindow } from '../../renderer/src/lib/virtual-grid';

const base = { viewportWidth: 900, viewportHeight: 700, minCellWidth: 132, gap: 10, itemCount: 10_000 };

describe('virtual grid window', () => {
  it('fills the width with as many columns as fit', () => {
    const window = gridWindow({ ...base, scrollTop: 0 });
    expect(window.columns).toBe(6);
    expect(window.cellSize * 6 + 10 * 5).toBeCloseTo(900);
  });

  it('renders only the rows on screen plus the overscan, for 10,000 items', () => {
    const window = gridWindow({ ...base, scrollTop: 0, overscanRows: 2 });
    const visibleRows = Math.ceil(700 / window.rowHeight);
    expect(window.firstIndex).toBe(0);
    expect(window.endIndex).toBe((visibleRows + 2) * 6);
    expect(window.totalHeight).toBeCloseTo(Math.ceil(10_000 / 6) * window.rowHeight - 10);
  });

  it('covers the viewport wherever it is scrolled', () => {
    for (const scrollTop of [0, 1234.5, 50_000, 200_000]) {
      const window = gridWindow({ ...base, scrollTop });
      const firstVisibleRow = Math.floor(scrollTop / window.rowHeight);
      const lastVisibleRow = Math.floor((scrollTop + 700) / window.rowHeight);
      expect(window.firstIndex).toBeLessThanOrEqual(firstVisibleRow * window.columns);
      expect(window.endIndex).toBeGreaterThanOrEqual(Math.min(10_000, (lastVisibleRow + 1) * window.columns));
      expect(window.offsetTop).toBe((window.firstIndex / window.columns) * window.rowHeight);
    }
  });

  it('stops at the last item', () => {
    const window = gridWindow({ ...base, scrollTop: 10_000_000 });
    expect(window.endIndex).toBe(10_000);
    expect(window.firstIndex).toBeLessThan(10_000);
  });
});
