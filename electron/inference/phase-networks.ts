/**
 * The networks of one stretch of a run as the samplers take them: the UNet with its labels (or
 * classifier-free mixed), and the classifier's guidance. A run with a switch builds two, one for
 * the steps before the switch and one for those after.
 */
import { classifierFreeDenoiser } from '../../common/diffusion/classifier-free';
import type { GuidanceSchedule } from '../../common/diffusion/guidance-schedule';
import type { BatchShape, ClassifierGradientFn, DenoiseFn, Guidance } from '../../common/diffusion/sampler';
import type { RunPlan } from '../../common/models/run-plan';
import type { LoadedModel } from './loaded-model';
import { classifierGradient, labelledUnetDenoiser, unetDenoiser, type RuntimeTimings } from './networks';

/** The labels and guidance of one stretch: the plan's own, or its switch's. */
export interface PhaseSettings {
  unetLabel: number | null;
  guidanceLabel: number | null;
  classifierFree: RunPlan['classifierFree'];
  guidanceSchedule: GuidanceSchedule;
  scale: number;
}

export interface PhaseNetworks {
  /** The classifier's gradient for the stretch's label, or null when no classifier guides. */
  gradient: ClassifierGradientFn | null;
  guidance: Guidance | null;
  denoise: DenoiseFn;
}

export interface BatchNetworks {
  model: LoadedModel;
  shape: BatchShape;
  timings: RuntimeTimings;
  /** Wraps each classifier call, so a cancel request stops the job before the next one. */
  guard: (gradient: ClassifierGradientFn) => ClassifierGradientFn;
}

export function phaseNetworks(batch: BatchNetworks, phase: PhaseSettings): PhaseNetworks {
  const { model, shape, timings } = batch;
  const { manifest } = model.folder;
  const geometry = { batch: shape.batch, channels: shape.channels, size: shape.height };
  const labels = (label: number): number[] => new Array<number>(shape.batch).fill(label);
  const gradient: ClassifierGradientFn | null =
    phase.guidanceLabel === null || model.classifier === null ? null : batch.guard(classifierGradient(model.classifier.session, manifest, geometry, labels(phase.guidanceLabel), timings));
  const guidance: Guidance | null = gradient === null ? null : { gradient, scale: phase.scale, ...(phase.guidanceSchedule.kind === 'constant' ? {} : { schedule: phase.guidanceSchedule }) };
  const denoise: DenoiseFn =
    phase.classifierFree === null
      ? unetDenoiser(model.unet.session, manifest, geometry, phase.unetLabel === null ? null : labels(phase.unetLabel), timings)
      : classifierFreeDenoiser({
          denoise: labelledUnetDenoiser(model.unet.session, manifest, { channels: shape.channels, size: shape.height }, timings),
          labels: labels(phase.classifierFree.label),
          nullClass: phase.classifierFree.nullClass,
          weight: phase.classifierFree.weight,
          shape,
          learnedSigma: manifest.diffusion.learn_sigma,
          // A graph exported for fixed batch sizes may lack the doubled one.
          batching: manifest.unet.batch === 'dynamic' ? 'doubled' : 'separate',
        });
  return { gradient, guidance, denoise };
}
