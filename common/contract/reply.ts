/**
 * What every StudioApi call answers, over Electron IPC and over the `serve` bridge alike. A
 * failure travels as a sentence rather than as a thrown error: Electron rewrites thrown
 * messages ("Error invoking remote method …") and a WebSocket carries no exceptions.
 */
import { z } from 'zod';

export const Reply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), message: z.string() }),
]);
export type Reply<Result = unknown> = { ok: true; result: Result } | { ok: false; message: string };
