import { isAppOrigin } from './app-origin';

/** The part of Electron's WebFrameMain that decides whether a message may be answered. */
export interface SenderFrame {
  readonly url: string;
  readonly parent: unknown;
}

/**
 * A message is answered only when it comes from the top frame of the studio page itself:
 * not from an iframe, not from a page that navigated elsewhere, not from a frame already gone.
 */
export function isTrustedSender(frame: SenderFrame | null | undefined, appUrl: URL): boolean {
  if (!frame) return false;
  if (frame.parent !== null) return false;
  return isAppOrigin(frame.url, appUrl);
}
