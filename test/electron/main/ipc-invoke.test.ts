import { describe, expect, it } from 'vitest';
import { invokeChannels } from '../../../common/contract/channels';
import { appEntryUrl } from '../../../electron/main/app-origin';
import { createInvokeListener, studioInvokeRoutes, type InvokeGuards } from '../../../electron/main/ipc-invoke';
import { untrustedSenderMessage } from '../../../electron/main/ipc-reply';
import { isTrustedSender, type SenderFrame } from '../../../electron/main/trusted-sender';
import { UserFacingError } from '../../../electron/service/user-facing-error';
import { recordingHandlers } from './studio-handlers-double';

const appUrl = appEntryUrl(undefined);
const studioPage: SenderFrame = { url: 'gds-app://studio/index.html', parent: null };

function guards(): InvokeGuards & { reports: string[] } {
  const reports: string[] = [];
  return {
    reports,
    isTrustedSender: (frame) => isTrustedSender(frame, appUrl),
    report: (channel, problem) => reports.push(`${channel}: ${problem}`),
  };
}

const loadedModel = { modelId: 'fashion-mnist', requestedProvider: 'auto', activeProvider: 'cpu', fallbackNote: null, unetPrecision: 'fp32' as const };

describe('IPC invoke listener', () => {
  it('answers a valid message from the studio page with the service result, defaults applied', async () => {
    const { handlers, calls } = recordingHandlers({ loadModel: () => loadedModel });
    const listener = createInvokeListener(invokeChannels.loadModel, handlers, guards());

    const reply = await listener({ senderFrame: studioPage }, { modelId: 'fashion-mnist' });

    expect(reply).toEqual({ ok: true, result: loadedModel });
    expect(calls).toEqual([{ method: 'loadModel', request: { modelId: 'fashion-mnist', provider: 'auto' } }]);
  });

  it.each([
    ['another site', { url: 'https://example.com/', parent: null }],
    ['a file page', { url: 'file:///tmp/index.html', parent: null }],
    ['an iframe inside the studio page', { url: 'gds-app://studio/index.html', parent: {} }],
    ['a look-alike host', { url: 'gds-app://studio.evil/index.html', parent: null }],
    ['a URL with credentials', { url: 'gds-app://user:pw@studio/index.html', parent: null }],
    ['a frame that is gone', null],
  ] as const)('refuses a message from %s without reading its payload', async (_what, frame) => {
    const { handlers, calls } = recordingHandlers({ loadModel: () => loadedModel });
    const checks = guards();
    const listener = createInvokeListener(invokeChannels.loadModel, handlers, checks);

    const reply = await listener({ senderFrame: frame }, { modelId: 'fashion-mnist' });

    expect(reply).toEqual({ ok: false, message: untrustedSenderMessage });
    expect(calls).toEqual([]);
    expect(checks.reports).toHaveLength(1);
  });

  it.each([
    ['a negative scale', { scale: -1 }, 'scale'],
    ['a NaN scale', { scale: Number.NaN }, 'scale'],
    ['a fractional class index', { classIndex: 2.5 }, 'classIndex'],
    ['an unknown sampler', { sampler: 'euler' }, 'sampler'],
    ['no seeds', { seeds: [] }, 'seeds'],
  ])('rejects a run request with %s before the service sees it', async (_what, change, field) => {
    const { handlers, calls } = recordingHandlers({ startRun: () => ({ runId: 1 }) });
    const listener = createInvokeListener(invokeChannels.startRun, handlers, guards());
    const request = {
      modelId: 'fashion-mnist',
      classIndex: 7,
      mode: 'conditional',
      scale: 4,
      sampler: 'ddim',
      steps: 'ddim25',
      seeds: [1, 2, 3, 4],
      ...change,
    };

    const reply = await listener({ senderFrame: studioPage }, { request });

    expect(reply.ok).toBe(false);
    expect(!reply.ok && reply.message).toContain(field);
    expect(calls).toEqual([]);
  });

  it('rejects a payload on a channel that takes none', async () => {
    const { handlers, calls } = recordingHandlers({ listModels: () => [] });
    const listener = createInvokeListener(invokeChannels.listModels, handlers, guards());

    expect(await listener({ senderFrame: studioPage })).toEqual({ ok: true, result: [] });
    const reply = await listener({ senderFrame: studioPage }, { path: '/etc/passwd' });

    expect(reply.ok).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('passes the service error sentence to the page', async () => {
    const sentence = 'The model "nope" is not installed. Pick a model from the list or convert a checkpoint first.';
    const { handlers } = recordingHandlers({
      loadModel: () => {
        throw new UserFacingError(sentence);
      },
    });
    const listener = createInvokeListener(invokeChannels.loadModel, handlers, guards());

    expect(await listener({ senderFrame: studioPage }, { modelId: 'nope' })).toEqual({ ok: false, message: sentence });
  });

  it('refuses a service answer that breaks the contract', async () => {
    const { handlers } = recordingHandlers({ loadModel: () => ({ modelId: 'fashion-mnist' }) });
    const listener = createInvokeListener(invokeChannels.loadModel, handlers, guards());

    const reply = await listener({ senderFrame: studioPage }, { modelId: 'fashion-mnist' });

    expect(reply.ok).toBe(false);
  });

  it('has exactly one route per contract channel', () => {
    const routes = studioInvokeRoutes(recordingHandlers().handlers, guards());
    expect(routes.map((route) => route.channel).sort()).toEqual(Object.values(invokeChannels).sort());
  });

  it('trusts the Vite dev server page only on its own port while developing', () => {
    const devUrl = appEntryUrl('http://localhost:5173');
    expect(isTrustedSender({ url: 'http://localhost:5173/', parent: null }, devUrl)).toBe(true);
    expect(isTrustedSender({ url: 'http://localhost:5174/', parent: null }, devUrl)).toBe(false);
    expect(isTrustedSender({ url: 'gds-app://studio/index.html', parent: null }, devUrl)).toBe(false);
  });
});
