/** Helpers for the classifier's outputs: p(y|xₜ) from logits. */

/**
 * softmax(logits)[y] for each sample, computed stably: logits [B, K], labels [B].
 */
export function classProbabilities(logits: Float32Array, labels: ArrayLike<number>, classCount: number): Float32Array {
  const batch = labels.length;
  if (logits.length !== batch * classCount) {
    throw new Error(`The classifier returned ${logits.length} logits but ${batch} samples × ${classCount} classes were expected.`);
  }
  const probabilities = new Float32Array(batch);
  for (let sample = 0; sample < batch; sample++) {
    const row = logits.subarray(sample * classCount, (sample + 1) * classCount);
    let maximum = -Infinity;
    for (let k = 0; k < classCount; k++) maximum = Math.max(maximum, row[k] as number);
    let sum = 0;
    for (let k = 0; k < classCount; k++) sum += Math.exp((row[k] as number) - maximum);
    probabilities[sample] = Math.exp((row[labels[sample] as number] as number) - maximum) / sum;
  }
  return probabilities;
}
