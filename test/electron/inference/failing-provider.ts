/**
 * A GPU provider that fails part way, on a machine without one: a model opened on the CPU,
 * labelled with another provider, whose UNet session throws at one call as a GPU out of memory does.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { LoadedModel } from '../../../electron/inference/loaded-model';
import type { ConcreteProvider } from '../../../electron/inference/provider-order';

/** What the failing call throws: onnxruntime's words for a CUDA allocation that failed. */
export const OUT_OF_MEMORY = 'CUDA failure 2: out of memory';

/** The UNet call the stand-in fails at: in batch 2 of a DDIM-10 run in batches of two, step 3 of 10. */
export const FAILING_CALL = 13;

/** The session, except that its `failingCall`-th run (1-based) and every later one throw. */
export function failingSession(session: InferenceSession, failingCall: number, message = OUT_OF_MEMORY): InferenceSession {
  let calls = 0;
  return new Proxy(session, {
    get(target, property) {
      if (property === 'run') {
        return (...args: Parameters<InferenceSession['run']>) => {
          calls += 1;
          if (calls >= failingCall) return Promise.reject(new Error(message));
          return target.run(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The model as if opened on `provider`, its UNet failing from call `failingCall` on. */
export function withFailingUnet(model: LoadedModel, provider: ConcreteProvider, failingCall: number): LoadedModel {
  return {
    ...model,
    unet: { session: failingSession(model.unet.session, failingCall), provider, fallbacks: [] },
    classifier: model.classifier === null ? null : { ...model.classifier, provider },
  };
}
