/**
 * What every IPC call answers. A failure travels as a sentence rather than as a thrown
 * error, because Electron rewrites thrown messages ("Error invoking remote method …").
 */
export type IpcReply<Result> = { ok: true; result: Result } | { ok: false; message: string };

export const untrustedSenderMessage =
  'The studio refused a message that did not come from its own window. Restart the studio if this keeps happening.';
