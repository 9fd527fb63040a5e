/**
 * What the bridge sends one page, with a bound on what may wait for it. A page that stops
 * reading (a background tab, a stalled tunnel) would otherwise have every preview of every run
 * queued in this process. Previews are the bulk and the page only ever shows the newest, so they
 * go first; replies and the started, sample and finished events the page needs are kept until
 * the queue is past all reason, and then the page is let go with a sentence.
 */
import type { WebSocket } from 'ws';
import type { BridgeServerFrame } from '../../common/contract/bridge-protocol';
import { eventChannels } from '../../common/contract/channels';
import type { RunEvent } from '../../common/contract/studio-api';
import { messageForUser } from '../service/user-facing-error';

export interface QueueBudget {
  /** Queued bytes above which step events with previews are not sent to this page. */
  dropPreviewsAbove: number;
  /** Queued bytes above which the page is closed (1013, try again later). */
  closeAbove: number;
}

export const defaultQueueBudget: QueueBudget = { dropPreviewsAbove: 8 * 1024 * 1024, closeAbove: 64 * 1024 * 1024 };

/** 1013 Try Again Later: the page may reconnect once it reads again. */
export const overloadedCloseCode = 1013;
export const overloadedCloseReason = 'The page stopped reading; reload it to reconnect.';

export interface PageSender {
  reply(frame: BridgeServerFrame): void;
  runEvent(event: RunEvent): void;
}

function previewsOnly(event: RunEvent): boolean {
  return event.type === 'step' && event.previews.length > 0;
}

export function pageSender(ws: WebSocket, budget: QueueBudget, label: string, log: (line: string) => void): PageSender {
  let droppedPreviews = 0;

  function send(frame: BridgeServerFrame, droppable: boolean): void {
    if (ws.readyState !== ws.OPEN) return;
    const queued = ws.bufferedAmount;
    if (queued > budget.closeAbove) {
      log(`${label}: ${queued} bytes wait for a page that does not read; closing it.`);
      ws.close(overloadedCloseCode, overloadedCloseReason);
      return;
    }
    const behind = queued > budget.dropPreviewsAbove;
    if (!behind && droppedPreviews > 0) {
      log(`${label}: the page caught up after ${droppedPreviews} skipped previews.`);
      droppedPreviews = 0;
    }
    if (droppable && behind) {
      if (droppedPreviews === 0) log(`${label}: the page is not keeping up (${queued} bytes queued); its previews are skipped until it catches up.`);
      droppedPreviews++;
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(frame);
    } catch (error) {
      log(`${label}: a frame could not be written as JSON: ${messageForUser(error)}`);
      return;
    }
    ws.send(text);
  }

  return {
    reply: (frame) => send(frame, false),
    runEvent: (event) => send({ event: eventChannels.runEvent, payload: event }, previewsOnly(event)),
  };
}
