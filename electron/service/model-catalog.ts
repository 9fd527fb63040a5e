/**
 * The studio's models: the folders scanned once, found by id, loaded on a provider and
 * registered in the gallery, with the provider each model really runs on.
 */
import type { ProviderName } from '../../common/contract/run-request';
import type { LoadedModel, ModelFolderProblem, ModelInfo } from '../../common/contract/studio-api';
import { quoteStart } from '../../common/contract/bounds';
import type { ModelManifest } from '../../common/models/manifest';
import { modelFingerprint, modelSha256 } from '../../common/models/model-identity';
import type { Gallery } from '../gallery';
import type { ModelLookup } from '../gallery/recipes';
import type { Engine, ModelScan, ModelSummary } from '../inference';
import { modelInfoOf } from './model-info';
import { UserFacingError } from './user-facing-error';

export class ModelCatalog {
  private scan: Promise<ModelScan> | null = null;
  /** Provider really running each model's open sessions, by model id and then by the provider asked for. */
  private readonly openSessions = new Map<string, Map<ProviderName, string>>();
  /** The provider of each model's most recent load: what the page shows next to it. */
  private readonly activeProviders = new Map<string, string>();
  /** Loads under way, by model id and provider asked for, so a second ask for the same load waits on the first. */
  private readonly loadsUnderWay = new Map<string, Promise<LoadedModel>>();
  /** Why the default model did not open at start, until a later load of it succeeds. */
  private readonly startupProblems = new Map<string, ModelFolderProblem>();

  constructor(
    private readonly engine: Engine,
    private readonly gallery: Gallery,
  ) {}

  private scanned(): Promise<ModelScan> {
    this.scan ??= this.engine.scanModels();
    return this.scan;
  }

  async summaries(): Promise<ModelSummary[]> {
    return (await this.scanned()).models;
  }

  /** The one lookup of a model by id; an unknown id is answered with the ids there are. */
  async find(modelId: string): Promise<ModelSummary> {
    const summaries = await this.summaries();
    const summary = summaries.find((model) => model.id === modelId);
    if (summary) return summary;
    const known = summaries.map((model) => `"${model.id}"`).join(', ') || 'none';
    throw new UserFacingError(`There is no model ${quoteStart(modelId)} in this studio (available: ${known}). Pick one of those, or add its folder.`);
  }

  async manifestOf(modelId: string): Promise<ModelManifest> {
    return (await this.find(modelId)).manifest;
  }

  async listModels(): Promise<ModelInfo[]> {
    return (await this.summaries()).map((summary) => modelInfoOf(summary.manifest, this.activeProviders.get(summary.id) ?? null));
  }

  async listModelProblems(): Promise<ModelFolderProblem[]> {
    return [...(await this.scanned()).problems, ...this.startupProblems.values()];
  }

  /**
   * Opens the sessions of the model the page starts on (the first one listed) on the automatic
   * provider, as the page asks for it, so neither the page's load nor the first run waits for
   * the worker or the graphs. A model that does not open is kept as one of listModelProblems.
   */
  async preloadDefaultModel(): Promise<void> {
    // The scan keeps its own problems (folders not offered) and does not fail as a whole.
    const [model] = await this.summaries();
    if (!model) return;
    try {
      await this.loadModel({ modelId: model.id, provider: 'auto' });
    } catch (error) {
      this.startupProblems.set(model.id, {
        folder: model.dir,
        message: `${model.name} could not be opened when the studio started: ${(error as Error).message}`,
      });
    }
  }

  loadModel(request: { modelId: string; provider: ProviderName }): Promise<LoadedModel> {
    const key = JSON.stringify([request.modelId, request.provider]);
    const underWay = this.loadsUnderWay.get(key);
    if (underWay) return underWay;
    const load = this.loadNow(request).finally(() => this.loadsUnderWay.delete(key));
    this.loadsUnderWay.set(key, load);
    return load;
  }

  private async loadNow(request: { modelId: string; provider: ProviderName }): Promise<LoadedModel> {
    await this.find(request.modelId);
    const info = await this.engine.loadModel(request.modelId, request.provider);
    this.gallery.models.register(info.manifest, modelSha256(info.manifest));
    const sessions = this.openSessions.get(request.modelId) ?? new Map<ProviderName, string>();
    sessions.set(request.provider, info.provider);
    this.openSessions.set(request.modelId, sessions);
    this.activeProviders.set(request.modelId, info.provider);
    this.startupProblems.delete(request.modelId);
    const fallbackNote =
      info.fallbacks.length === 0
        ? null
        : `${info.fallbacks.map((attempt) => `${attempt.provider.toUpperCase()} did not start (${attempt.error})`).join('; ')}; running on ${info.provider.toUpperCase()}.`;
    return { modelId: request.modelId, requestedProvider: request.provider, activeProvider: info.provider, fallbackNote, unetPrecision: info.unetPrecision };
  }

  /** Opens the model's sessions on `provider` unless they are open and registered; returns the provider really used. */
  async prepare(modelId: string, provider: ProviderName): Promise<string> {
    const open = this.openSessions.get(modelId)?.get(provider);
    if (open !== undefined && this.gallery.models.get(modelId)) {
      this.activeProviders.set(modelId, open);
      return open;
    }
    return (await this.loadModel({ modelId, provider })).activeProvider;
  }

  /** Looks a recipe's model up among the installed ones, for importing a PNG. */
  async recipeLookup(): Promise<ModelLookup> {
    const known = new Map((await this.summaries()).map((model) => [model.id, model.manifest]));
    return (modelId) => {
      const manifest = known.get(modelId);
      return manifest ? { ...modelFingerprint(manifest), manifest } : undefined;
    };
  }
}
