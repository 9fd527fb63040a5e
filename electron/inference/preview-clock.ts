/**
 * When a batch's step carries x̂₀ previews: its first and last steps always, the steps on the
 * previewEvery schedule in between once previewIntervalMs has passed since the last preview.
 * Asked twice about one step (by the device path before it copies x̂₀ back, then by the job when
 * it reports the step) it answers the same, so a preview is never shown from a stale copy.
 */
export interface PreviewClock {
  due(step: number): boolean;
}

export function previewClock(previewEvery: number, previewIntervalMs: number, stepCount: number, now: () => number = () => performance.now()): PreviewClock {
  let lastPreviewAt = -Infinity;
  let decided: { step: number; due: boolean } | null = null;
  return {
    due(step) {
      if (decided !== null && decided.step === step) return decided.due;
      const at = now();
      const onSchedule = previewEvery > 0 && step % previewEvery === 0;
      const due = step === stepCount - 1 || (onSchedule && (step === 0 || at - lastPreviewAt >= previewIntervalMs));
      if (due) lastPreviewAt = at;
      decided = { step, due };
      return due;
    },
  };
}
