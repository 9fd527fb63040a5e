import { vi } from 'vitest';
import { invokeChannels, type InvokeMethod } from '../../../common/contract/channels';
import type { StudioHandlers } from '../../../common/contract/studio-api';

/**
 * A service stand-in whose every method records its calls; `answers` supplies the results
 * the tests need, and any other method fails loudly if it is ever reached.
 */
export function recordingHandlers(answers: Partial<Record<InvokeMethod, (request: unknown) => unknown>> = {}) {
  const calls: { method: InvokeMethod; request: unknown }[] = [];
  const handlers = Object.fromEntries(
    (Object.keys(invokeChannels) as InvokeMethod[]).map((method) => [
      method,
      vi.fn(async (request?: unknown) => {
        calls.push({ method, request });
        const answer = answers[method];
        if (!answer) throw new Error(`${method} was not expected in this test`);
        return answer(request);
      }),
    ]),
  ) as unknown as StudioHandlers;
  return { handlers, calls };
}
