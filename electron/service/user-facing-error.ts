/**
 * An error whose message is written for the person at the keyboard (what was wrong, what to do).
 * The engine and the gallery write their messages the same way, so adapters pass any message on.
 */
export class UserFacingError extends Error {
  override readonly name = 'UserFacingError';
}

/** The sentence the page shows for an error thrown by the service. */
export function messageForUser(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong in the studio; the log of the process that runs it says more.';
}
