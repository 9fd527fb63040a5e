import type { RunRecord } from './gallery';

/**
 * How a run's provider reads beside its other settings (the sample details, `gallery show`): the
 * one that ran it, the one its request named when that was another, and why it fell back.
 */
export function providerRows(run: Pick<RunRecord, 'request' | 'provider' | 'providerFallback'>): [label: string, value: string][] {
  const asked = run.request.provider;
  return [
    ['Provider', run.provider.toUpperCase()],
    ...(asked === 'auto' || asked === run.provider ? [] : [['Provider asked for', asked.toUpperCase()] as [string, string]]),
    ...(run.providerFallback === null ? [] : [['Provider fallback', run.providerFallback] as [string, string]]),
  ];
}
