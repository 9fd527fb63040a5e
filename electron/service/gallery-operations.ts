/** The gallery as the page uses it: samples, their images, PNG export and import, presets. */
import { zipSync } from 'fflate';
import { MAX_EXPORT_BYTES } from '../../common/contract/bounds';
import type { ImageRef, ParsedRequestOf, ResponseOf } from '../../common/contract/studio-api';
import type { Gallery } from '../gallery';
import { upscaledExport } from '../gallery/recipes';
import type { ModelCatalog } from './model-catalog';
import { checkPresetAgainstModel } from './request-checks';
import { trajectoryAnimation, trajectoryNpyZip } from './trajectory-export';
import { UserFacingError } from './user-facing-error';

export class GalleryOperations {
  constructor(
    private readonly gallery: Gallery,
    private readonly catalog: ModelCatalog,
  ) {}

  async listSamples(query: ParsedRequestOf<'listSamples'>): Promise<ResponseOf<'listSamples'>> {
    return this.gallery.samples.list(query);
  }

  async getSample({ sampleId }: ParsedRequestOf<'getSample'>): Promise<ResponseOf<'getSample'>> {
    const detail = this.gallery.samples.detail(sampleId);
    if (!detail) throw new UserFacingError(`Sample ${sampleId} is not in the gallery any more; it may have been deleted.`);
    return detail;
  }

  async galleryFacets(): Promise<ResponseOf<'galleryFacets'>> {
    return this.gallery.samples.facets();
  }

  async editSample(change: ParsedRequestOf<'editSample'>): Promise<ResponseOf<'editSample'>> {
    return this.gallery.samples.edit(change);
  }

  async deleteSample({ sampleId }: ParsedRequestOf<'deleteSample'>): Promise<ResponseOf<'deleteSample'>> {
    return { deleted: this.gallery.samples.delete(sampleId) };
  }

  async exportPng({ sampleId, upscale }: ParsedRequestOf<'exportPng'>): Promise<ResponseOf<'exportPng'>> {
    const exported = upscaledExport(this.gallery.exportPng(sampleId), upscale);
    return { fileName: exported.fileName, png: Buffer.from(exported.png).toString('base64') };
  }

  async exportTrajectory({ sampleId, format, image }: ParsedRequestOf<'exportTrajectory'>): Promise<ResponseOf<'exportTrajectory'>> {
    const exported = format === 'npy-zip' ? trajectoryNpyZip(this.gallery, sampleId) : trajectoryAnimation(this.gallery, sampleId, image);
    return { fileName: exported.fileName, mimeType: exported.mimeType, bytes: Buffer.from(exported.bytes).toString('base64') };
  }

  /** The picked samples' PNGs, each with its recipe, in one zip (stored, not deflated: PNGs are compressed already). */
  async exportSamplesZip({ sampleIds, upscale }: ParsedRequestOf<'exportSamplesZip'>): Promise<ResponseOf<'exportSamplesZip'>> {
    const files: Record<string, Uint8Array> = {};
    let bytes = 0;
    for (const sampleId of new Set(sampleIds)) {
      const exported = upscaledExport(this.gallery.exportPng(sampleId), upscale);
      bytes += exported.png.byteLength;
      if (bytes > MAX_EXPORT_BYTES) {
        throw new UserFacingError(
          `These ${sampleIds.length} samples take more than the ${MAX_EXPORT_BYTES / 1024 / 1024} MiB the studio exports at once; pick fewer, or export at ×1, or use the command line's gallery export.`,
        );
      }
      files[exported.fileName] = exported.png;
    }
    const zip = zipSync(files, { level: 0 });
    const count = Object.keys(files).length;
    return { fileName: `guided-diffusion-${count}-sample${count === 1 ? '' : 's'}.zip`, mimeType: 'application/zip', bytes: Buffer.from(zip).toString('base64') };
  }

  async readRecipe({ png }: ParsedRequestOf<'readRecipe'>): Promise<ResponseOf<'readRecipe'>> {
    const imported = this.gallery.importPng(Buffer.from(png, 'base64'), await this.catalog.recipeLookup());
    return { request: imported.request, warning: imported.warning };
  }

  async listPresets(): Promise<ResponseOf<'listPresets'>> {
    return this.gallery.presets.list();
  }

  async savePreset({ name, settings }: ParsedRequestOf<'savePreset'>): Promise<ResponseOf<'savePreset'>> {
    checkPresetAgainstModel(await this.catalog.manifestOf(settings.modelId), settings);
    return this.gallery.presets.save(name, settings);
  }

  async deletePreset({ presetId }: ParsedRequestOf<'deletePreset'>): Promise<ResponseOf<'deletePreset'>> {
    return { deleted: this.gallery.presets.delete(presetId) };
  }

  /** PNG bytes of an image the page shows by URL, or null when there is none. */
  async readImage(ref: ImageRef): Promise<Uint8Array | null> {
    switch (ref.kind) {
      case 'sample':
        return this.gallery.samples.image(ref.sampleId) ?? null;
      case 'thumbnail':
        return this.gallery.samples.thumbnail(ref.sampleId) ?? this.gallery.samples.image(ref.sampleId) ?? null;
      case 'xt':
      case 'x0':
      case 'heat':
        return this.gallery.trajectories.image(ref.sampleId, ref.step, ref.kind) ?? null;
    }
  }
}
