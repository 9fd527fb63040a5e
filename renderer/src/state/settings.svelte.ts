/** The sampler settings on the left panel, the model they apply to, and presets. */
import { DEFAULT_CFG_SCALE, usesClassifier, usesClassifierFree, type GuidanceMode, type GuidanceScheduleSetting, type RunRequest, type SamplerName } from '../../../common/contract/run-request';
import { MAX_GUIDANCE_SCALE } from '../../../common/contract/bounds';
import { ddimGuidanceRisk, preferredDdimSpacing } from '../../../common/diffusion/guidance-safety';
import type { PresetSettings, PresetRecord } from '../../../common/contract/gallery';
import type { LoadedModel, ModelFolderProblem, ModelInfo, StudioApi } from '../../../common/contract/studio-api';
import { buildClassIndex } from '../../../common/models/class-search';
import { planSeeds, randomSeed, type SeedMode } from '../lib/seeds';
import { batchLimits, checkScale, checkStrength, checkWholeNumber, imagesLimits, seedLimits, subseedLimits, type FieldCheck } from '../lib/field-limits';

/** The number fields whose text the user types; each is checked against the contract's limits. */
export type NumberField = 'scale' | 'seed' | 'count' | 'batchSize' | 'subseed' | 'subseedStrength' | 'cfgScale' | 'intervalLo' | 'intervalHi' | 'rampFrom' | 'rampTo';

export type ScheduleKind = GuidanceScheduleSetting['kind'];

/** A number from 0 to the largest guidance scale, named in the sentence as `what`. */
function checkFactor(what: string): (text: string) => FieldCheck {
  return (text) => {
    const trimmed = text.trim();
    const value = trimmed === '' ? Number.NaN : Number(trimmed);
    if (!Number.isFinite(value)) return { ok: false, problem: `${what} must be a number from 0 to ${MAX_GUIDANCE_SCALE}; “${trimmed.slice(0, 24)}” is not.` };
    if (value < 0 || value > MAX_GUIDANCE_SCALE) return { ok: false, problem: `${what} must be from 0 to ${MAX_GUIDANCE_SCALE}; ${value} is out of range.` };
    return { ok: true, value };
  };
}

/** A timestep of the guidance interval; the model's T bounds it, which the planner checks. */
const timestepLimits = (what: string) => ({ what, min: 0, max: 100_000 });

const fieldChecks: Record<NumberField, (text: string) => FieldCheck> = {
  scale: checkScale,
  seed: (text) => checkWholeNumber(text, seedLimits),
  count: (text) => checkWholeNumber(text, imagesLimits),
  batchSize: (text) => checkWholeNumber(text, batchLimits),
  subseed: (text) => checkWholeNumber(text, subseedLimits),
  subseedStrength: checkStrength,
  cfgScale: checkFactor('The classifier-free weight'),
  intervalLo: (text) => checkWholeNumber(text, timestepLimits('The interval start')),
  intervalHi: (text) => checkWholeNumber(text, timestepLimits('The interval end')),
  rampFrom: checkFactor('The ramp factor at the noisiest step'),
  rampTo: checkFactor('The ramp factor at t = 0'),
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
  /** w of classifier-free guidance, read in the classifier-free modes. */
  cfgScale = $state(DEFAULT_CFG_SCALE);
  /** How the classifier scale changes over t, and the numbers of each kind of schedule. */
  scheduleKind = $state<ScheduleKind>('constant');
  intervalLo = $state(0);
  intervalHi = $state(0);
  rampFrom = $state(1);
  rampTo = $state(0);
  recordTrajectory = $state(true);
  presets = $state.raw<PresetRecord[]>([]);
  error = $state<string | null>(null);
  private loadingDone: Promise<void> | null = null;
  /** What the user typed in each number field since the value was last set from elsewhere. */
  drafts = $state<Partial<Record<NumberField, string>>>({});

  /** Whether the next run reads this field: the seed, the weight and the schedule's numbers only in some settings. */
  private fieldInUse(field: NumberField): boolean {
    if (field === 'seed') return this.seedMode !== 'random';
    if (field === 'cfgScale') return usesClassifierFree(this.mode);
    if (field === 'intervalLo' || field === 'intervalHi') return this.scheduleKind === 'interval' && usesClassifier(this.mode);
    if (field === 'rampFrom' || field === 'rampTo') return this.scheduleKind === 'ramp' && usesClassifier(this.mode);
    return true;
  }

  /** Why each number field's text is not an allowed value; fields the next run does not read do not count. */
  readonly fieldProblems = $derived.by(() => {
    const problems: Partial<Record<NumberField, string>> = {};
    for (const field of Object.keys(this.drafts) as NumberField[]) {
      const check = fieldChecks[field](this.drafts[field] ?? '');
      if (!check.ok && this.fieldInUse(field)) problems[field] = check.problem;
    }
    return problems;
  });
  /** Why Generate cannot start now, as a sentence; null when it can. */
  readonly generateProblem = $derived.by((): string | null => {
    if (!this.model) return 'Choose a model first.';
    if (this.loadingModel) return 'The model is still loading.';
    if (!this.loaded) return this.error ?? 'The model could not be loaded; choose another one.';
    const fieldProblem = Object.values(this.fieldProblems)[0];
    return fieldProblem ?? this.guidanceWarning;
  });

  /** The schedule the next run uses: constant unless the user picked another one. */
  readonly guidanceSchedule = $derived.by((): GuidanceScheduleSetting => {
    if (this.scheduleKind === 'interval') return { kind: 'interval', tLo: this.intervalLo, tHi: this.intervalHi };
    if (this.scheduleKind === 'ramp') return { kind: 'ramp', from: this.rampFrom, to: this.rampTo };
    return { kind: 'constant' };
  });

  /**
   * The sentence for classifier guidance that would saturate from its first step (DDIM on a plain
   * spacing), shown as the user types and refused by the planner; null when the run is safe.
   */
  readonly guidanceWarning = $derived.by((): string | null => {
    const model = this.model;
    if (!model?.noiseSchedule || !usesClassifier(this.mode) || this.sampler === 'ddpm') return null;
    try {
      return ddimGuidanceRisk({ schedule: model.noiseSchedule, steps: model.diffusionSteps }, this.steps, { sampler: this.sampler })?.message ?? null;
    } catch {
      // A spacing the model cannot use gets the planner's own sentence when the run is asked for.
      return null;
    }
  });

  readonly model = $derived(this.models.find((model) => model.id === this.modelId) ?? null);
  readonly classSearchIndex = $derived(this.model ? buildClassIndex(this.model.classNames, this.model.classSynonyms) : null);
  readonly className = $derived(this.model?.classNames[this.classIndex] ?? '');
  readonly needsClassifier = $derived(usesClassifier(this.mode));
  readonly usesCfg = $derived(usesClassifierFree(this.mode));

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

  /** Resolves once the model being loaded, if any, has loaded or failed. */
  modelReady(): Promise<void> {
    return this.loadingDone ?? Promise.resolve();
  }

  private loadChosenModel(): Promise<void> {
    const load = this.loadModelNow();
    this.loadingDone = load;
    return load;
  }

  private async loadModelNow(): Promise<void> {
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

  /** Switches the sampler; DDIM takes the "ddimN" twin of a plain spacing, where guidance does not saturate. */
  setSampler(sampler: SamplerName): void {
    this.sampler = sampler;
    if (sampler === 'ddim') this.steps = preferredDdimSpacing(this.steps);
  }

  /** Switches the kind of schedule; an interval starts as the whole range of the model's timesteps. */
  setScheduleKind(kind: ScheduleKind): void {
    if (kind === 'interval' && this.scheduleKind !== 'interval' && this.model) {
      this.setField('intervalLo', 0);
      this.setField('intervalHi', this.model.diffusionSteps - 1);
    }
    this.scheduleKind = kind;
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
      ...this.guidanceSettings(),
    };
  }

  /** The classifier-free weight and the schedule, each only where the mode reads it: runs and evaluations take the same. */
  guidanceSettings(): { cfgScale?: number; guidanceSchedule?: GuidanceScheduleSetting } {
    return {
      ...(this.usesCfg ? { cfgScale: this.cfgScale } : {}),
      ...(this.needsClassifier && this.scheduleKind !== 'constant' ? { guidanceSchedule: this.guidanceSchedule } : {}),
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
    this.typeField('cfgScale', String(settings.cfgScale ?? DEFAULT_CFG_SCALE));
    const schedule = settings.guidanceSchedule ?? { kind: 'constant' };
    this.scheduleKind = schedule.kind;
    if (schedule.kind === 'interval') {
      this.typeField('intervalLo', String(schedule.tLo));
      this.typeField('intervalHi', String(schedule.tHi));
    }
    if (schedule.kind === 'ramp') {
      this.typeField('rampFrom', String(schedule.from));
      this.typeField('rampTo', String(schedule.to));
    }
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
