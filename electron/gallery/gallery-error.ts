/** A problem with the gallery file the user can act on; the message says what and what to do. */
export class GalleryError extends Error {
  override name = 'GalleryError';
}
