import { eventChannels } from '../../common/contract/channels';
import type { RunEvent, Unsubscribe } from '../../common/contract/studio-api';

/** The part of Electron's WebContents that receives pushed events. */
export interface EventTarget {
  isDestroyed(): boolean;
  send(channel: string, payload: unknown): void;
}

/**
 * Pushes every run event to the page while it exists; the subscription ends by itself
 * once the page is gone, so a closed window never receives (or keeps alive) anything.
 */
export function forwardRunEvents(
  subscribe: (listener: (event: RunEvent) => void) => Unsubscribe,
  target: EventTarget,
): Unsubscribe {
  let unsubscribe: Unsubscribe | null = null;
  const stop = () => {
    unsubscribe?.();
    unsubscribe = null;
  };
  unsubscribe = subscribe((event) => {
    if (target.isDestroyed()) {
      stop();
      return;
    }
    target.send(eventChannels.runEvent, event);
  });
  return stop;
}
