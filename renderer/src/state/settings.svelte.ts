/** The sampler settings on the left panel, the model they apply to, and presets. */
import type { GuidanceMode, RunRequest, SamplerName } from '../../../common/contract/run-request';
import type { PresetSettings, PresetRecord } from '../../../common/contract/gallery';
import type { LoadedModel, ModelFolderProblem, ModelInfo, StudioApi } from '../../../common/contract/studio-api';
import { buildClassIndex } from '../../../common/models/class-search';
import { planSeeds, randomSeed, type SeedMode } from '../lib/seeds';

export class SettingsState {
  models = $state.raw<ModelInfo[]>([]);
  /** Model folders found but not offered, and why. */
  modelProblems = $state.raw<ModelFolderProblem[]>([]);
  modelId = $state<string | null>(null);
  loaded = $state.raw<LoadedModel | null>(null);
  loadingModel = $state(false);
  classIndex = $state(0);
  mode = $state<GuidanceMode>('conditional');
  scale = $state(4);
  sampler = $state<SamplerName>('ddim');
  steps = $state('ddim25');
  eta = $state(0);
  seedMode = $state<SeedMode>('random');
  seed = $state(randomSeed());
  count = $state(4);
  batchSize = $state(4);
  recordTrajectory = $state(true);
  presets = $state.raw<PresetRecord[]>([]);
  error = $state<string | null>(null);

  readonly model = $derived(this.models.find((model) => model.id === this.modelId) ?? null);
  readonly classSearchIndex = $derived(this.model ? buildClassIndex(this.model.classNames, this.model.classSynonyms) : null);
  readonly className = $derived(this.model?.classNames[this.classIndex] ?? '');
  readonly needsClassifier = $derived(this.mode !== 'conditional');

  constructor(private readonly api: StudioApi) {}

  async initialise(): Promise<void> {
    const [models, modelProblems, presets] = await Promise.all([this.api.listModels(), this.api.listModelProblems(), this.api.listPresets()]);
    this.models = models;
    this.modelProblems = modelProblems;
    this.presets = presets;
    const first = models[0];
    if (first) await this.selectModel(first.id);
  }

  async selectModel(modelId: string): Promise<void> {
    const model = this.models.find((candidate) => candidate.id === modelId);
    if (!model) return;
    this.modelId = modelId;
    this.mode = model.modes.includes(model.defaults.mode) ? model.defaults.mode : model.modes[0]!;
    this.sampler = model.defaults.sampler;
    this.steps = model.defaults.steps;
    this.scale = model.defaults.scale;
    this.eta = model.defaults.eta;
    if (this.classIndex >= model.classNames.length) this.classIndex = 0;
    this.loaded = null;
    this.loadingModel = true;
    try {
      this.loaded = await this.api.loadModel({ modelId });
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.loadingModel = false;
    }
  }

  /** The request for the next run; advances the seed in increment mode. */
  nextRequest(): RunRequest {
    if (!this.model) throw new Error('Choose a model first.');
    const plan = planSeeds(this.seedMode, this.seed, this.count);
    this.seed = plan.nextBase;
    return {
      modelId: this.model.id,
      classIndex: this.classIndex,
      mode: this.mode,
      scale: this.scale,
      sampler: this.sampler,
      steps: this.steps,
      eta: this.sampler === 'ddim' ? this.eta : 0,
      clipDenoised: true,
      seeds: plan.seeds,
      batchSize: Math.min(this.batchSize, this.count),
      provider: 'auto',
    };
  }

  /** Take over every setting of a request (a re-run, a dropped PNG, a preset). */
  apply(settings: PresetSettings | RunRequest): void {
    if (settings.modelId !== this.modelId && this.models.some((model) => model.id === settings.modelId)) {
      this.modelId = settings.modelId;
    }
    this.classIndex = settings.classIndex;
    this.mode = settings.mode;
    this.scale = settings.scale;
    this.sampler = settings.sampler;
    this.steps = settings.steps;
    this.eta = settings.eta;
    this.batchSize = settings.batchSize;
    if ('seeds' in settings) {
      this.seedMode = 'fixed';
      this.seed = settings.seeds[0]!;
      this.count = settings.seeds.length;
    }
  }

  presetSettings(): PresetSettings {
    const { seeds: _seeds, ...settings } = this.nextRequestPreview();
    return settings;
  }

  private nextRequestPreview(): RunRequest {
    const seedBefore = this.seed;
    const request = this.nextRequest();
    this.seed = seedBefore;
    return request;
  }

  async savePreset(name: string): Promise<void> {
    const preset = await this.api.savePreset({ name, settings: this.presetSettings() });
    this.presets = [...this.presets.filter((existing) => existing.id !== preset.id), preset];
  }

  async deletePreset(presetId: number): Promise<void> {
    await this.api.deletePreset({ presetId });
    this.presets = this.presets.filter((preset) => preset.id !== presetId);
  }
}
