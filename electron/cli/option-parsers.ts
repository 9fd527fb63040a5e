/** Parsers for command-line values that explain a bad value in a sentence. */
import { InvalidArgumentError, Option } from 'commander';

export function wholeNumber(name: string, minimum: number, maximum = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${minimum}${maximum === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${maximum}`}, got "${text}".`);
    }
    return value;
  };
}

export function realNumber(name: string, minimum: number, maximum = Number.POSITIVE_INFINITY) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value < minimum || value > maximum) {
      throw new InvalidArgumentError(`${name} must be a number from ${minimum}${Number.isFinite(maximum) ? ` to ${maximum}` : ' up'}, got "${text}".`);
    }
    return value;
  };
}

/** --unet-precision: which UNet graph runs. */
export function unetPrecisionOption(): Option {
  return new Option('--unet-precision <precision>', 'UNet graph: auto (float16 on GPU providers when the model has it), fp32 or fp16')
    .choices(['auto', 'fp32', 'fp16'])
    .default('auto');
}
