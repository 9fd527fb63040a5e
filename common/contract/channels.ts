/**
 * Names of the messages that cross from the page to the service, one per StudioApi method.
 * Electron IPC, the preload and the `serve` WebSocket bridge all use these strings;
 * a message whose channel is not listed here is rejected before its payload is read.
 */
export const invokeChannels = {
  listModels: 'models:list',
  listModelProblems: 'models:problems',
  loadModel: 'models:load',
  startRun: 'run:start',
  cancelRun: 'run:cancel',
  finishRun: 'run:finish',
  forkSample: 'run:fork',
  compareSample: 'run:compare',
  startSweep: 'sweep:start',
  startGridSweep: 'sweep:start-grid',
  tagSweepGrid: 'sweep:tag-grid',
  readSweepGrid: 'sweep:read-grid',
  listSamples: 'gallery:list',
  getSample: 'gallery:get',
  galleryFacets: 'gallery:facets',
  editSample: 'gallery:edit',
  deleteSample: 'gallery:delete',
  exportPng: 'gallery:export',
  exportTrajectory: 'gallery:export-trajectory',
  askClassifier: 'gallery:ask-classifier',
  askEvaluator: 'gallery:ask-evaluator',
  exportSamplesZip: 'gallery:export-zip',
  readRecipe: 'gallery:read-recipe',
  listPresets: 'presets:list',
  savePreset: 'presets:save',
  deletePreset: 'presets:delete',
  startEvaluation: 'evaluation:start',
  resumeEvaluation: 'evaluation:resume',
  cancelEvaluation: 'evaluation:cancel',
  listEvaluations: 'evaluation:list',
  getEvaluation: 'evaluation:get',
  getEvaluationShards: 'evaluation:shards',
  listQueue: 'queue:list',
  pauseQueue: 'queue:pause',
  resumeQueue: 'queue:resume',
  moveQueueEntry: 'queue:move',
  removeQueueEntry: 'queue:remove',
} as const;

/** Messages the service pushes to every page that subscribed. */
export const eventChannels = {
  runEvent: 'run:progress',
} as const;

export type InvokeMethod = keyof typeof invokeChannels;
export type InvokeChannel = (typeof invokeChannels)[InvokeMethod];
export type EventChannel = (typeof eventChannels)[keyof typeof eventChannels];

const knownInvokeChannels: ReadonlySet<string> = new Set(Object.values(invokeChannels));

export function isInvokeChannel(channel: unknown): channel is InvokeChannel {
  return typeof channel === 'string' && knownInvokeChannels.has(channel);
}

/** The StudioApi method that answers a channel. */
export function methodOfChannel(channel: InvokeChannel): InvokeMethod {
  const entry = Object.entries(invokeChannels).find(([, name]) => name === channel);
  if (!entry) throw new Error(`Unknown channel ${channel}`);
  return entry[0] as InvokeMethod;
}
