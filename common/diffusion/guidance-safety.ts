/**
 * Where classifier guidance through the score breaks down. DDIM's condition_score (and
 * DPM-Solver's ε guidance) shifts x̂₀ by √(1/ᾱₜ−1)·√(1−ᾱₜ)·s·∇ₓ log p(y|xₜ) ≈ (σₜ/αₜ)·s·∇ₓ. A plain
 * respacing ("50") keeps t = T−1, where the cosine schedule's ᾱ is about 2.4·10⁻⁹: the shift is
 * then ~20,000 times the gradient, x̂₀ clips to ±1 everywhere and every seed ends as the same
 * saturated blobs, at any scale. The "ddimN" spacing starts at t = T − stride instead, where ᾱ
 * is orders of magnitude larger. The reference code does the same arithmetic; this is a choice
 * the studio makes for its users.
 *
 * DDIM forms its guided x̂₀ after the clip (condition_score works on the clipped x̂₀ and the shift
 * stays), so clipping does not save it. DPM-Solver++ guides ε before x̂₀ is formed and clips
 * afterwards: with clipping on, the shift is cut back to ±1 within that step and the run recovers
 * (measured on the built-in model), so it is at risk only with clipping off.
 */
import { spaceTimesteps, spacedDiffusion } from './respace';
import type { NoiseScheduleName } from './schedule';

/** Below this ᾱ at the first step, score guidance is refused or warned about (amplification σ/α above ~300). */
export const MINIMUM_GUIDED_ALPHA_BAR = 1e-5;

/** The samplers that guide through the score, and the name a sentence gives them. */
const SCORE_GUIDED_SAMPLERS = { ddim: 'DDIM', dpmpp2m: 'DPM-Solver++(2M)' } as const;
export type ScoreGuidedSampler = keyof typeof SCORE_GUIDED_SAMPLERS;

export interface GuidanceStartRisk {
  /** Original timestep index of the first step. */
  t: number;
  /** ᾱₜ there. */
  alphaBar: number;
  /** σₜ/αₜ = √((1−ᾱₜ)/ᾱₜ): how many times the gradient the x̂₀ shift is. */
  amplification: number;
  /** A spacing with the same number of steps that starts safely, or fewer steps when none does. */
  suggestedSpacing: string;
  /** The sentence to show the user. */
  message: string;
}

/** The trained process a spacing is applied to (a manifest's diffusion block has both). */
export interface TrainedProcess {
  schedule: NoiseScheduleName;
  steps: number;
}

/** "50" → "ddim50"; "ddim50" stays; section lists ("10,15,20") become ddim of their total. */
export function preferredDdimSpacing(steps: string): string {
  const text = steps.trim();
  if (/^ddim\d+$/.test(text)) return text;
  if (/^\d+(\s*,\s*\d+)*$/.test(text)) {
    const total = text.split(',').reduce((sum, part) => sum + Number.parseInt(part.trim(), 10), 0);
    return `ddim${total}`;
  }
  return text;
}

function firstStep(process: TrainedProcess, spacing: string): { t: number; alphaBar: number } {
  const diffusion = spacedDiffusion(process.schedule, process.steps, spacing);
  const last = diffusion.betas.length - 1;
  return { t: diffusion.timestepMap[last] as number, alphaBar: diffusion.alphasCumprod[last] as number };
}

function safeSpacing(process: TrainedProcess, spacing: string, minimumAlphaBar: number): string {
  let count = spaceTimesteps(process.steps, spacing).length;
  for (;;) {
    const candidate = preferredDdimSpacing(`${count}`);
    if (count <= 1 || firstStep(process, candidate).alphaBar >= minimumAlphaBar) return candidate;
    count = Math.floor(count / 2);
  }
}

/** 20412 → "20,000"; 316 → "320": two significant figures with thousands separators. */
function roughly(value: number): string {
  const digits = Math.floor(Math.log10(value));
  const rounded = digits >= 1 ? Math.round(value / 10 ** (digits - 1)) * 10 ** (digits - 1) : Math.round(value * 10) / 10;
  return rounded.toLocaleString('en-US');
}

export interface GuidanceRiskOptions {
  /** Default 'ddim'. */
  sampler?: ScoreGuidedSampler;
  /** Whether x̂₀ is clipped to [−1, 1] (default true); DPM-Solver++ is at risk only without. */
  clipDenoised?: boolean;
  minimumAlphaBar?: number;
}

/**
 * Whether classifier guidance through the score with `spacing` would start at a t with ᾱₜ below
 * the minimum and saturate; null when it is safe. Only runs with a classifier need asking.
 * Throws the respacing's own sentence for a spacing the process cannot use.
 */
export function ddimGuidanceRisk(process: TrainedProcess, spacing: string, options: GuidanceRiskOptions = {}): GuidanceStartRisk | null {
  const { sampler = 'ddim', clipDenoised = true, minimumAlphaBar = MINIMUM_GUIDED_ALPHA_BAR } = options;
  if (sampler === 'dpmpp2m' && clipDenoised) return null;
  const { t, alphaBar } = firstStep(process, spacing);
  if (alphaBar >= minimumAlphaBar) return null;
  const amplification = Math.sqrt((1 - alphaBar) / alphaBar);
  const suggestedSpacing = safeSpacing(process, spacing, minimumAlphaBar);
  const kind = /^ddim\d+$/.test(spacing.trim()) ? 'respacing' : 'plain respacing';
  const message =
    `${SCORE_GUIDED_SAMPLERS[sampler]} with ${kind} '${spacing.trim()}' starts at t = ${t} where ᾱ = ${alphaBar.toPrecision(2)}, ` +
    `so classifier guidance is amplified ~${roughly(amplification)}× and saturates; use '${suggestedSpacing}'.`;
  return { t, alphaBar, amplification, suggestedSpacing, message };
}
