/** Which cells of a fixed-size grid are on screen, so only those are in the DOM. */

export interface GridGeometry {
  viewportWidth: number;
  viewportHeight: number;
  scrollTop: number;
  /** Smallest cell width; cells stretch to fill the row. */
  minCellWidth: number;
  gap: number;
  itemCount: number;
  /** Extra rows above and below the viewport, so fast scrolling shows no blanks. */
  overscanRows?: number;
}

export interface GridWindow {
  columns: number;
  cellSize: number;
  rowHeight: number;
  totalHeight: number;
  firstIndex: number;
  /** One past the last index to render. */
  endIndex: number;
  /** Vertical offset of the first rendered row. */
  offsetTop: number;
}

export function gridWindow(geometry: GridGeometry): GridWindow {
  const { viewportWidth, viewportHeight, scrollTop, minCellWidth, gap, itemCount } = geometry;
  const overscan = geometry.overscanRows ?? 2;
  const columns = Math.max(1, Math.floor((viewportWidth + gap) / (minCellWidth + gap)));
  const cellSize = Math.max(1, (viewportWidth - gap * (columns - 1)) / columns);
  const rowHeight = cellSize + gap;
  const rows = Math.ceil(itemCount / columns);
  const lastRow = Math.min(rows, Math.ceil((scrollTop + viewportHeight) / rowHeight) + overscan);
  // Scrolled past the end (the list just shrank): keep the last rows rather than none.
  const firstRow = Math.max(0, Math.min(Math.floor(scrollTop / rowHeight) - overscan, lastRow - Math.ceil(viewportHeight / rowHeight) - overscan));
  return {
    columns,
    cellSize,
    rowHeight,
    totalHeight: Math.max(0, rows * rowHeight - gap),
    firstIndex: firstRow * columns,
    endIndex: Math.min(itemCount, lastRow * columns),
    offsetTop: firstRow * rowHeight,
  };
}
