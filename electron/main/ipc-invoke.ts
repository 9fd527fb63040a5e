import { invokeChannels } from '../../common/contract/channels';
import type { StudioHandlers } from '../../common/contract/studio-api';
import { invokeOperation } from '../service/invoke';
import { messageForUser } from '../service/user-facing-error';
import type { Reply } from '../../common/contract/reply';
import { untrustedSenderMessage } from './ipc-reply';
import type { SenderFrame } from './trusted-sender';

/** The part of Electron's IpcMainInvokeEvent that the listener reads. */
export interface InvokeEvent {
  readonly senderFrame: SenderFrame | null;
}

export type InvokeListener = (event: InvokeEvent, payload?: unknown) => Promise<Reply>;

export interface InvokeRoute {
  channel: string;
  listener: InvokeListener;
}

export interface InvokeGuards {
  isTrustedSender(frame: SenderFrame | null): boolean;
  /** Told about every refused or failed message; the page only sees the sentence. */
  report(channel: string, problem: string): void;
}

/**
 * The listener for one channel. The sender is checked before anything else; the payload is
 * then validated against the channel's request schema by the service's single entry point,
 * so only a trusted, valid message reaches the service.
 */
export function createInvokeListener(channel: string, handlers: StudioHandlers, guards: InvokeGuards): InvokeListener {
  return async (event, payload) => {
    if (!guards.isTrustedSender(event.senderFrame)) {
      guards.report(channel, `refused a message from ${event.senderFrame?.url ?? 'a frame that is gone'}`);
      return { ok: false, message: untrustedSenderMessage };
    }
    try {
      return { ok: true, result: await invokeOperation(handlers, channel, payload) };
    } catch (error) {
      const message = messageForUser(error);
      guards.report(channel, message);
      return { ok: false, message };
    }
  };
}

/** One route per StudioApi channel; Electron answers any other channel with an error of its own. */
export function studioInvokeRoutes(handlers: StudioHandlers, guards: InvokeGuards): InvokeRoute[] {
  return Object.values(invokeChannels).map((channel) => ({
    channel,
    listener: createInvokeListener(channel, handlers, guards),
  }));
}
