import { ipcMain } from 'electron';
import type { StudioHandlers } from '../../common/contract/studio-api';
import { studioInvokeRoutes } from './ipc-invoke';
import { isTrustedSender } from './trusted-sender';

/** Answers every StudioApi channel from the service; returns the function that removes the handlers. */
export function registerStudioIpc(handlers: StudioHandlers, appUrl: URL, log: (line: string) => void): () => void {
  const routes = studioInvokeRoutes(handlers, {
    isTrustedSender: (frame) => isTrustedSender(frame, appUrl),
    report: (channel, problem) => log(`${channel}: ${problem}`),
  });
  for (const { channel, listener } of routes) ipcMain.handle(channel, listener);
  return () => {
    for (const { channel } of routes) ipcMain.removeHandler(channel);
  };
}
