/**
 * Decodes the part of an ONNX model (onnx/onnx.proto) that says which files its tensors
 * read: every place a TensorProto can sit, down through subgraphs, and nothing else. The
 * message description below names only those fields, with onnx.proto's field numbers;
 * protobufjs skips every other field (weights in raw_data included) without copying it,
 * reads fields in whatever order they come, merges a message that is split over several
 * occurrences as the C++ parser onnxruntime uses does, and stops at 100 levels of nesting
 * as that parser does.
 */
import protobuf from 'protobufjs';

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });
const single = (type: string, id: number) => ({ type, id });

const ONNX_SUBSET = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: single('int64', 1),
            graph: single('GraphProto', 7),
            opsetImport: repeated('OperatorSetIdProto', 8),
            trainingInfo: repeated('TrainingInfoProto', 20),
            functions: repeated('FunctionProto', 25),
          },
        },
        OperatorSetIdProto: { fields: { domain: single('string', 1), version: single('int64', 2) } },
        TrainingInfoProto: { fields: { initialization: single('GraphProto', 1), algorithm: single('GraphProto', 2) } },
        FunctionProto: { fields: { name: single('string', 1), node: repeated('NodeProto', 7) } },
        GraphProto: {
          fields: {
            node: repeated('NodeProto', 1),
            name: single('string', 2),
            initializer: repeated('TensorProto', 5),
            sparseInitializer: repeated('SparseTensorProto', 15),
          },
        },
        NodeProto: { fields: { name: single('string', 3), opType: single('string', 4), attribute: repeated('AttributeProto', 5) } },
        AttributeProto: {
          fields: {
            name: single('string', 1),
            t: single('TensorProto', 5),
            g: single('GraphProto', 6),
            tensors: repeated('TensorProto', 10),
            graphs: repeated('GraphProto', 11),
            sparseTensor: single('SparseTensorProto', 22),
            sparseTensors: repeated('SparseTensorProto', 23),
          },
        },
        TensorProto: {
          fields: {
            name: single('string', 8),
            externalData: repeated('StringStringEntryProto', 13),
            dataLocation: single('int32', 14),
          },
        },
        SparseTensorProto: { fields: { values: single('TensorProto', 1), indices: single('TensorProto', 2) } },
        StringStringEntryProto: { fields: { key: single('string', 1), value: single('string', 2) } },
      },
    },
  },
});

const MODEL_PROTO = ONNX_SUBSET.lookupType('onnx.ModelProto');

/** TensorProto.DataLocation.EXTERNAL: the tensor's bytes live in the file its external_data names. */
export const EXTERNAL_DATA_LOCATION = 1;

export interface StringEntry {
  key?: string;
  value?: string;
}

export interface OnnxTensor {
  name?: string;
  externalData: StringEntry[];
  dataLocation?: number;
}

export interface OnnxSparseTensor {
  values?: OnnxTensor;
  indices?: OnnxTensor;
}

export interface OnnxAttribute {
  name?: string;
  t?: OnnxTensor;
  g?: OnnxGraph;
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
  sparseTensor?: OnnxSparseTensor;
  sparseTensors: OnnxSparseTensor[];
}

export interface OnnxNode {
  name?: string;
  opType?: string;
  attribute: OnnxAttribute[];
}

export interface OnnxGraph {
  name?: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  sparseInitializer: OnnxSparseTensor[];
}

export interface OnnxModel {
  irVersion?: number;
  graph?: OnnxGraph;
  opsetImport: { domain?: string; version?: number }[];
  trainingInfo: { initialization?: OnnxGraph; algorithm?: OnnxGraph }[];
  functions: { name?: string; node: OnnxNode[] }[];
}

/** Bytes that are not an ONNX model; `reason` completes "… is damaged (not an ONNX model: <reason>)". */
export class OnnxDecodeError extends Error {
  readonly reason: string;
  readonly empty: boolean;
  constructor(reason: string, empty = false) {
    super(empty ? 'The ONNX file is empty.' : `The ONNX file is damaged: ${reason}.`);
    this.name = 'OnnxDecodeError';
    this.reason = reason;
    this.empty = empty;
  }
}

function decodeFailure(error: unknown): OnnxDecodeError {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('index out of range')) return new OnnxDecodeError('it is cut short, a field runs past the end of the file');
  if (message === 'max depth exceeded') return new OnnxDecodeError('its messages nest more than 100 levels deep');
  return new OnnxDecodeError(`its bytes are not a protobuf message (${message})`);
}

/**
 * Decodes the tensor-bearing structure of an ONNX model. Throws OnnxDecodeError for an
 * empty file, bytes that are not protobuf, and a message without the graph, IR version and
 * operator set every ONNX model has (what a file cut short between fields looks like).
 */
export function decodeOnnxModel(bytes: Uint8Array): OnnxModel {
  if (bytes.length === 0) throw new OnnxDecodeError('the file is empty', true);
  let decoded: protobuf.Message;
  try {
    decoded = MODEL_PROTO.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    throw decodeFailure(error);
  }
  // The description above fixes this shape; toObject fills every repeated field with an array.
  const model = MODEL_PROTO.toObject(decoded, { arrays: true, longs: Number }) as OnnxModel;
  if (model.graph === undefined) throw new OnnxDecodeError('it holds no graph');
  if (model.irVersion === undefined || model.irVersion <= 0) throw new OnnxDecodeError('it declares no IR version');
  if (model.opsetImport.length === 0) throw new OnnxDecodeError('it imports no operator set');
  return model;
}
