/**
 * The one path from an untrusted message to a studio operation, shared by Electron IPC and
 * the `serve` bridge: the channel must be known, the payload must match the contract's schema,
 * and the answer is checked against the response schema before it leaves the process.
 */
import { describeProblems } from '../../common/contract/bounds';
import { isInvokeChannel, methodOfChannel, type InvokeMethod } from '../../common/contract/channels';
import { studioOperations, type StudioHandlers } from '../../common/contract/studio-api';
import { UserFacingError } from './user-facing-error';

export class UnknownChannelError extends Error {}

export async function invokeOperation(handlers: StudioHandlers, channel: unknown, payload: unknown): Promise<unknown> {
  if (!isInvokeChannel(channel)) throw new UnknownChannelError(`Unknown channel ${JSON.stringify(channel)}.`);
  const method: InvokeMethod = methodOfChannel(channel);
  const operation = studioOperations[method];
  const parsed = operation.request.safeParse(payload);
  if (!parsed.success) {
    throw new UserFacingError(`The request for ${channel} is not valid: ${describeProblems(parsed.error)}`);
  }
  const handler = handlers[method] as (request: unknown) => Promise<unknown>;
  const result = await handler.call(handlers, parsed.data);
  return operation.response.parse(result);
}
