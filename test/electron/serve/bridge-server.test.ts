import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../../electron/serve/bridge-server';
import { openStudio, removeFolder, request, type StudioFixture } from '../service/studio-fixture';
import { connect, pageClient } from './bridge-fixture';

const token = 'test-token-0123456789-abcdef';
let studio: StudioFixture;
let bridge: RunningBridge;
let rendererDir: string;

beforeAll(async () => {
  studio = openStudio();
  rendererDir = mkdtempSync(path.join(tmpdir(), 'gds-renderer-'));
  writeFileSync(path.join(rendererDir, 'index.html'), '<!doctype html><title>Guided Diffusion Studio</title>');
  bridge = await startBridge({ service: studio.service, rendererDir, token, port: 0 });
});

afterAll(async () => {
  await bridge.close();
  await studio.close();
  removeFolder(studio.dataDir);
  removeFolder(rendererDir);
});

function socketUrl(query: string): string {
  return `ws://127.0.0.1:${bridge.port}/studio${query}`;
}

describe('serve bridge', () => {
  it('prints an address on 127.0.0.1 that carries the token', () => {
    expect(bridge.url).toBe(`http://127.0.0.1:${bridge.port}/?token=${token}`);
  });

  it('serves the built renderer', async () => {
    const response = await fetch(`http://127.0.0.1:${bridge.port}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Guided Diffusion Studio');
  });

  it('refuses a WebSocket without the token, with a wrong token, or from another site', async () => {
    await expect(connect(socketUrl(''))).rejects.toThrow('HTTP 401');
    await expect(connect(socketUrl('?token=wrong'))).rejects.toThrow('HTTP 401');
    await expect(connect(socketUrl(`?token=${token}`), { Origin: 'http://evil.example' })).rejects.toThrow('HTTP 401');
  });

  it('answers StudioApi calls and pushes run events over the socket', async () => {
    const socket = await connect(socketUrl(`?token=${token}`), { Origin: `http://127.0.0.1:${bridge.port}` });
    const api = pageClient(socket);
    const models = await api.call('models:list');
    expect(models).toMatchObject({ id: 1, ok: true, result: [{ id: 'linear-8px' }] });

    const started = await api.call('run:start', { request: request({ seeds: [5, 6] }), recordTrajectory: false });
    expect(started).toMatchObject({ ok: true, result: { jobId: expect.any(Number) } });
    const jobId = (started as { result: { jobId: number } }).result.jobId;
    await expect.poll(() => api.events.some((event) => event.jobId === jobId && event.type === 'finished'), { timeout: 30_000 }).toBe(true);
    const ownEvents = api.events.filter((event) => event.jobId === jobId);
    expect(ownEvents[0]?.type).toBe('started');
    expect(ownEvents.filter((event) => event.type === 'sample')).toHaveLength(2);
    socket.close();
  });

  it('answers an unknown channel or a bad payload with an error sentence, and keeps the connection', async () => {
    const socket = await connect(socketUrl(`?token=${token}`));
    const api = pageClient(socket);
    expect(await api.call('shell:exec', { command: 'rm -rf /' })).toMatchObject({ ok: false, message: expect.stringMatching(/Unknown channel/) });
    expect(await api.call('gallery:get', { sampleId: -3 })).toMatchObject({ ok: false, message: expect.stringMatching(/not valid/) });
    expect(await api.call('gallery:facets')).toMatchObject({ ok: true });
    socket.close();
  });

  it('serves gallery images by URL only with the token', async () => {
    const { items } = await studio.service.listSamples({ limit: 1 });
    const imageUrl = `http://127.0.0.1:${bridge.port}/images/sample/${items[0]!.id}.png`;
    expect((await fetch(imageUrl)).status).toBe(403);
    const response = await fetch(`${imageUrl}?token=${token}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(PNG.sync.read(Buffer.from(await response.arrayBuffer())).width).toBe(8);
    expect((await fetch(`http://127.0.0.1:${bridge.port}/images/sample/999999.png?token=${token}`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${bridge.port}/images/../../etc/passwd?token=${token}`)).status).toBe(404);
  });
});
