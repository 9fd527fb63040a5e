/**
 * The sweep grid as one PNG, drawn on a canvas in the page: the browser's own fonts draw the axis
 * labels, so no bitmap font has to ship, and the cells are the gallery's images scaled up by
 * whole factors without smoothing. The service then adds the sweep's recipe chunk.
 */
import type { SweepCell } from '../../state/sweep.svelte';

export interface GridLayout {
  title: string;
  rowLabels: readonly string[];
  /** Empty when the columns are only the settings' seeds. */
  columnLabels: readonly string[];
  cells: readonly SweepCell[];
  seedsPerCell: number;
  /**
   * The sample's PNG bytes. Read through the API rather than by image URL: in Electron the image
   * protocol is another origin, and its pixels would taint the canvas so it could not be saved.
   */
  imageBytes(sampleId: number): Promise<Uint8Array>;
}

/** Tiles are at least this many pixels wide, so 28×28 samples and their labels stay legible. */
const MIN_TILE = 96;
const GAP = 4;
const FONT = '13px system-ui, sans-serif';

async function loadImage(bytes: Uint8Array): Promise<HTMLImageElement> {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    return image;
  } finally {
    URL.revokeObjectURL(url);
  }
}

export async function composeGridPng(layout: GridLayout): Promise<Blob> {
  const placed = layout.cells.flatMap((cell) => cell.samples.map((sample, position) => ({ cell, sample, position })));
  const images = new Map<number, HTMLImageElement>();
  await Promise.all(
    placed.flatMap(({ sample }) => (sample === null ? [] : [layout.imageBytes(sample.id).then(loadImage).then((image) => images.set(sample.id, image))])),
  );
  const first = images.values().next().value;
  const natural = first?.naturalWidth ?? MIN_TILE;
  const tile = natural * Math.max(1, Math.ceil(MIN_TILE / natural));
  const columnCount = Math.max(1, layout.columnLabels.length);
  const canvas = document.createElement('canvas');
  const measure = canvas.getContext('2d')!;
  measure.font = FONT;
  const rowLabelWidth = Math.ceil(Math.max(0, ...layout.rowLabels.map((label) => measure.measureText(label).width))) + 16;
  const titleHeight = 24;
  const columnLabelHeight = layout.columnLabels.length > 0 ? 22 : 0;
  const cellWidth = layout.seedsPerCell * (tile + GAP);
  canvas.width = rowLabelWidth + columnCount * cellWidth + GAP;
  canvas.height = titleHeight + columnLabelHeight + layout.rowLabels.length * (tile + GAP) + GAP;
  const context = canvas.getContext('2d')!;
  context.fillStyle = '#101218';
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.font = FONT;
  context.fillStyle = '#e8eaf2';
  context.textBaseline = 'middle';
  context.fillText(layout.title, 8, titleHeight / 2);
  context.textAlign = 'center';
  layout.columnLabels.forEach((label, column) => context.fillText(label, rowLabelWidth + column * cellWidth + cellWidth / 2, titleHeight + columnLabelHeight / 2));
  context.textAlign = 'right';
  layout.rowLabels.forEach((label, row) => context.fillText(label, rowLabelWidth - 8, titleHeight + columnLabelHeight + row * (tile + GAP) + tile / 2));
  context.imageSmoothingEnabled = false;
  for (const { cell, sample, position } of placed) {
    const x = rowLabelWidth + cell.column * cellWidth + position * (tile + GAP);
    const y = titleHeight + columnLabelHeight + cell.row * (tile + GAP);
    const image = sample === null ? undefined : images.get(sample.id);
    if (image === undefined) {
      context.fillStyle = '#2a2d38';
      context.fillRect(x, y, tile, tile);
    } else {
      context.drawImage(image, x, y, tile, tile);
    }
  }
  return new Promise((resolve, reject) => canvas.toBlob((blob) => (blob === null ? reject(new Error('The browser could not encode the grid as a PNG.')) : resolve(blob)), 'image/png'));
}
