/**
 * The files an ONNX model reads its weights from. A tensor stored outside the .onnx names
 * its file in external_data as a { key: "location", value: <path> } entry; onnxruntime
 * resolves that path against the model's folder. Every tensor the model can hold is
 * visited: graph initializers, sparse initializers, tensor-valued node attributes
 * (Constant), the bodies of If, Loop and Scan, training graphs and functions.
 */
import path from 'node:path';
import { EXTERNAL_DATA_LOCATION, OnnxDecodeError, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxSparseTensor, type OnnxTensor } from './onnx-model-proto';

export interface ExternalDataReference {
  /** The path as the model writes it. */
  location: string;
  /** A tensor that reads from it, for messages. */
  tensor: string;
}

function* sparseParts(sparse: OnnxSparseTensor): Generator<OnnxTensor> {
  if (sparse.values !== undefined) yield sparse.values;
  if (sparse.indices !== undefined) yield sparse.indices;
}

function* nodeTensors(nodes: readonly OnnxNode[]): Generator<OnnxTensor> {
  for (const node of nodes) {
    for (const attribute of node.attribute) {
      if (attribute.t !== undefined) yield attribute.t;
      yield* attribute.tensors;
      if (attribute.sparseTensor !== undefined) yield* sparseParts(attribute.sparseTensor);
      for (const sparse of attribute.sparseTensors) yield* sparseParts(sparse);
      if (attribute.g !== undefined) yield* graphTensors(attribute.g);
      for (const graph of attribute.graphs) yield* graphTensors(graph);
    }
  }
}

function* graphTensors(graph: OnnxGraph): Generator<OnnxTensor> {
  yield* graph.initializer;
  for (const sparse of graph.sparseInitializer) yield* sparseParts(sparse);
  yield* nodeTensors(graph.node);
}

/** Every tensor of the model, wherever it sits; nesting is bounded by the decoder's depth limit. */
function* modelTensors(model: OnnxModel): Generator<OnnxTensor> {
  if (model.graph !== undefined) yield* graphTensors(model.graph);
  for (const training of model.trainingInfo) {
    if (training.initialization !== undefined) yield* graphTensors(training.initialization);
    if (training.algorithm !== undefined) yield* graphTensors(training.algorithm);
  }
  for (const fn of model.functions) yield* nodeTensors(fn.node);
}

/**
 * The external files the model's tensors name, each once. onnxruntime reads external data
 * only for tensors marked EXTERNAL, but a location on any tensor is reported: every file
 * the model names is then either checked or refused, whatever its data_location says.
 */
export function externalDataReferences(model: OnnxModel): ExternalDataReference[] {
  const byLocation = new Map<string, ExternalDataReference>();
  for (const tensor of modelTensors(model)) {
    const tensorName = tensor.name ?? '(unnamed)';
    const locations = tensor.externalData.filter((entry) => entry.key === 'location').map((entry) => entry.value ?? '');
    if (tensor.dataLocation === EXTERNAL_DATA_LOCATION && locations.length === 0) {
      throw new OnnxDecodeError(`tensor "${tensorName}" is marked as stored in an external file but names none`);
    }
    for (const location of locations) {
      if (!byLocation.has(location)) byLocation.set(location, { location, tensor: tensorName });
    }
  }
  return [...byLocation.values()];
}

/**
 * Why a model may not read weights from `location`, or null when it may: the file must lie
 * directly inside the model folder, so that it is listed and hashed in the manifest.
 */
export function externalDataLocationProblem(location: string): string | null {
  if (location === '' || location === '.') return 'which is not a file name';
  if (location.includes('\0')) return 'a name with a NUL character, which no file system allows';
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location) || /^[a-zA-Z]:/.test(location)) {
    return 'an absolute path; a model must not read files outside its folder';
  }
  if (location.split(/[\\/]/).includes('..')) return 'a path that climbs out with ".."; a model must not read files outside its folder';
  if (/[\\/]/.test(location)) return 'a path into a sub-folder; model files must lie directly in the model folder';
  return null;
}
