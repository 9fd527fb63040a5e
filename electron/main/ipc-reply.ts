/** The sentence a call from a frame other than the studio's own window is answered with. */
export const untrustedSenderMessage =
  'The studio refused a message that did not come from its own window. Restart the studio if this keeps happening.';
