/**
 * The token that guards the bridge. Anyone who can reach the port and knows the token drives the
 * studio, so a token must be as hard to guess as a 128-bit random number.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { InvalidArgumentError } from 'commander';

/** 22 base64url characters carry 132 bits, the shortest such string above 128. */
export const minimumTokenLength = 22;

/** Characters that travel unchanged in a URL query, so the printed address works as it is. */
const tokenAlphabet = /^[A-Za-z0-9_-]*$/;

/** Why a token cannot guard the bridge, in a sentence; null when it can. */
export function tokenProblem(token: string): string | null {
  if (!tokenAlphabet.test(token)) {
    return 'The token may hold only letters, digits, "-" and "_" (base64url), so that it travels unchanged in the address; leave --token out to get a random one.';
  }
  if (token.length < minimumTokenLength) {
    return `The token must be at least ${minimumTokenLength} characters long (128 bits, e.g. \`openssl rand -base64 16 | tr '+/' '-_' | tr -d =\`), but it has ${token.length}; leave --token out to get a random one.`;
  }
  return null;
}

/** Throws the sentence of `tokenProblem` for a token that cannot guard the bridge. */
export function assertTokenStrong(token: string): void {
  const problem = tokenProblem(token);
  if (problem) throw new Error(problem);
}

/** Parser of `--token`: refuses a weak token before anything starts. */
export function accessTokenArgument(text: string): string {
  const problem = tokenProblem(text);
  if (problem) throw new InvalidArgumentError(problem);
  return text;
}

export function randomAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokenMatches(expected: string, given: string | null): boolean {
  if (given === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}
