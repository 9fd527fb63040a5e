/**
 * Frames of the `serve` WebSocket bridge: the page sends calls, the server answers each by id
 * and pushes events. Payloads are then checked against the StudioApi schemas.
 */
import { z } from 'zod';
import { Reply } from './reply';

export const BridgeCall = z.object({
  id: z.number().int().nonnegative(),
  channel: z.string().max(64),
  payload: z.unknown().optional(),
});
export type BridgeCall = z.infer<typeof BridgeCall>;

/** A call's `Reply`, with the id of the call it answers. */
export const BridgeReply = z.intersection(z.object({ id: z.number().int() }), Reply);
export type BridgeReply = z.infer<typeof BridgeReply>;

export const BridgeEvent = z.object({ event: z.string(), payload: z.unknown() });
export type BridgeEvent = z.infer<typeof BridgeEvent>;

export const BridgeServerFrame = z.union([BridgeReply, BridgeEvent]);
export type BridgeServerFrame = z.infer<typeof BridgeServerFrame>;

/** Path of the WebSocket endpoint; the token travels as the `token` query parameter. */
export const bridgeSocketPath = '/studio';
/** Path prefix under which `serve` answers `imagePath(ref)` requests. */
export const bridgeImagePrefix = '/images/';

/** Largest WebSocket message the `serve` bridge accepts. */
export const BRIDGE_MAX_MESSAGE_BYTES = 96 * 1024 * 1024;

/** Characters of the base64 text of `bytes` bytes. */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/**
 * Largest PNG whose recipe the studio reads. A PNG travels as base64 (4 characters per 3
 * bytes), so 70 MiB becomes 93.4 MiB of text and leaves room for the rest of the message.
 */
export const MAX_RECIPE_PNG_BYTES = 70 * 1024 * 1024;
