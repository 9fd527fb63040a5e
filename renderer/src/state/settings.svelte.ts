/** The sampler settings on the left panel, the model they apply to, and presets. */
import type { GuidanceMode, RunRequest, SamplerName } from '../../../common/contract/run-request';
import type { PresetSettings, PresetRecord } from '../../../common/contract/gallery';
import type { LoadedModel, ModelFolderProblem, ModelInfo, StudioApi } from '../../../common/contract/studio-api';
import { buildClassIndex } from '../../../common/models/class-search';
import { planSeeds, randomSeed, type SeedMode } from '../lib/seeds';
import { batchLimits, checkScale, checkStrength, checkWholeNumber, imagesLimits, seedLimits, subseedLimits, type FieldCheck } from '../lib/field-limits';

/** The number fields whose text the user types; each is checked against the contract's limits. */
export type NumberField = 'scale' | 'seed' | 'count' | 'batchSize' | 'subseed' | 'subseedStrength';

const fieldChecks: Record<NumberField, (text: string) => FieldCheck> = {
  scale: checkScale,
  seed: (text) => checkWholeNumber(text, seedLimits),
  count: (text) => checkWholeNumber(text, imagesLimits),
  batchSize: (text) => checkWholeNumber(text, batchLimits),
  subseed: (text) => checkWholeNumber(text, subseedLimits),
  subseedStrength: checkStrength,
};

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
  /** Variation seed and strength; strength 0 leaves every sample's noise its seed's own. */
  subseed = $state(randomSeed());
  subseedStrength = $state(0);
  recordTrajectory = $state(true);
  presets = $state.raw<PresetRecord[]>([]);
  error = $state<string | null>(null);
  /** What the user typed in each number field since the value was last set from elsewhere. */
  drafts = $state<Partial<Record<NumberField, string>>>({});

  /** Why each number field's text is not an allowed value; the seed counts only when it is used. */
  readonly fieldProblems = $derived.by(() => {
    const problems: Partial<Record<NumberField, string>> = {};
    for (const field of Object.keys(this.drafts) as NumberField[]) {
      const check = fieldChecks[field](this.drafts[field] ?? '');
      if (!check.ok && (field !== 'seed' || this.seedMode !== 'random')) problems[field] = check.problem;
    }
    return problems;
  });
  /** Why Generate cannot start now, as a sentence; null when it can. */
  readonly generateProblem = $derived.by((): string | null => {
    if (!this.model) return 'Choose a model first.';
    if (this.loadingModel) return 'The model is still loading.';
    if (!this.loaded) return this.error ?? 'The model could not be loaded; choose another one.';
    const fieldProblem = Object.values(this.fieldProblems)[0];
    return fieldProblem ?? null;
  });

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

  /** Reads the models and presets again after a reconnect and loads the chosen model, keeping every field as it is. */
  async refreshAfterReconnect(): Promise<void> {
    const [models, modelProblems, presets] = await Promise.all([this.api.listModels(), this.api.listModelProblems(), this.api.listPresets()]);
    this.models = models;
    this.modelProblems = modelProblems;
    this.presets = presets;
    if (this.modelId === null || !models.some((model) => model.id === this.modelId)) {
      if (models[0]) await this.selectModel(models[0].id);
      return;
    }
    await this.loadChosenModel();
  }

  private async loadChosenModel(): Promise<void> {
    if (this.modelId === null) return;
    this.loaded = null;
    this.loadingModel = true;
    try {
      this.loaded = await this.api.loadModel({ modelId: this.modelId });
      this.error = null;
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.loadingModel = false;
    }
  }

  async selectModel(modelId: string): Promise<void> {
    const model = this.models.find((candidate) => candidate.id === modelId);
    if (!model) return;
    this.modelId = modelId;
    this.mode = model.modes.includes(model.defaults.mode) ? model.defaults.mode : model.modes[0]!;
    this.sampler = model.defaults.sampler;
    this.steps = model.defaults.steps;
    this.setField('scale', model.defaults.scale);
    this.eta = model.defaults.eta;
    if (this.classIndex >= model.classNames.length) this.classIndex = 0;
    await this.loadChosenModel();
  }

  /** The text a number field shows: what was typed, else the value in use. */
  fieldText(field: NumberField): string {
    return this.drafts[field] ?? String(this[field]);
  }

  /** Takes what the user typed; the value in use changes only to an allowed one. */
  typeField(field: NumberField, text: string): void {
    this.drafts = { ...this.drafts, [field]: text };
    const check = fieldChecks[field](text);
    if (check.ok) this[field] = check.value;
  }

  /** Sets a number field from elsewhere (a slider, a button): the typed text gives way. */
  setField(field: NumberField, value: number): void {
    const { [field]: _typed, ...others } = this.drafts;
    this.drafts = others;
    this.typeField(field, String(value));
  }

  /** The request for the next run; advances the seed in increment mode. */
  nextRequest(): RunRequest {
    if (!this.model) throw new Error('Choose a model first.');
    const problem = Object.values(this.fieldProblems)[0];
    if (problem) throw new Error(problem);
    const plan = planSeeds(this.seedMode, this.seed, this.count);
    if (plan.nextBase !== this.seed) this.setField('seed', plan.nextBase);
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
      ...(this.subseedStrength > 0 ? { subseed: this.subseed, subseedStrength: this.subseedStrength } : {}),
    };
  }

  /** Take over every setting of a request (a re-run, a dropped PNG, a preset). */
  apply(settings: PresetSettings | RunRequest): void {
    if (settings.modelId !== this.modelId && this.models.some((model) => model.id === settings.modelId)) {
      this.modelId = settings.modelId;
    }
    this.classIndex = settings.classIndex;
    this.mode = settings.mode;
    this.sampler = settings.sampler;
    this.steps = settings.steps;
    this.eta = settings.eta;
    this.drafts = {};
    // Through the field checks, so a recipe's scale of 1e9 shows as a problem instead of running.
    this.typeField('scale', String(settings.scale));
    this.typeField('batchSize', String(settings.batchSize));
    this.typeField('subseedStrength', String(settings.subseedStrength ?? 0));
    if (settings.subseed !== undefined) this.typeField('subseed', String(settings.subseed));
    if ('seeds' in settings) {
      this.seedMode = 'fixed';
      this.typeField('seed', String(settings.seeds[0]!));
      this.typeField('count', String(settings.seeds.length));
    }
  }

  presetSettings(): PresetSettings {
    const { seeds: _seeds, ...settings } = this.nextRequestPreview();
    return settings;
  }

  private nextRequestPreview(): RunRequest {
    const seedBefore = this.seed;
    const draftsBefore = this.drafts;
    const request = this.nextRequest();
    this.seed = seedBefore;
    this.drafts = draftsBefore;
    return request;
  }

  async savePreset(name: string): Promise<void> {
    const preset = await this.api.savePreset({ name, settings: this.presetSettings() });
    this.presets = [...this.presets.filter((existing) => existing.id !== preset.id), preset];
  }

  /** Gives a preset another name, keeping its settings (not the panel's). */
  async renamePreset(presetId: number, name: string): Promise<PresetRecord> {
    const preset = this.presets.find((candidate) => candidate.id === presetId);
    if (!preset) throw new Error('That preset is gone; choose another one.');
    const renamed = await this.api.savePreset({ name, settings: preset.settings });
    if (renamed.id !== presetId) await this.api.deletePreset({ presetId });
    this.presets = [...this.presets.filter((existing) => existing.id !== presetId && existing.id !== renamed.id), renamed];
    return renamed;
  }

  async deletePreset(presetId: number): Promise<void> {
    await this.api.deletePreset({ presetId });
    this.presets = this.presets.filter((preset) => preset.id !== presetId);
  }
}
