import { bytesFromBase64 } from './api';

/** Hands a file the service built to the browser as a download (Electron's window saves it the same way). */
export function downloadFile(file: { fileName: string; mimeType: string; bytes: string }): void {
  const blob = new Blob([bytesFromBase64(file.bytes) as Uint8Array<ArrayBuffer>], { type: file.mimeType });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = file.fileName;
  link.click();
  // The download has started by the time the page gets back here; the URL outlives it a while.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
