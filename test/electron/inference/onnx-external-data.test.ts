import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalDataLocationProblem, externalDataReferences } from '../../../electron/inference/onnx-external-data';
import { decodeOnnxModel, OnnxDecodeError } from '../../../electron/inference/onnx-model-proto';
import { LINEAR_MODEL } from './test-models';

/*
 * ONNX bytes written field by field with protobufjs's Writer, so that field order, unknown
 * fields and nesting are exactly what each test needs. Field numbers are onnx.proto's.
 */
type Field = (writer: protobuf.Writer) => void;
const VARINT = 0;
const LENGTH_DELIMITED = 2;
const text = (id: number, value: string): Field => (writer) => writer.uint32((id << 3) | LENGTH_DELIMITED).string(value);
const number = (id: number, value: number): Field => (writer) => writer.uint32((id << 3) | VARINT).int64(value);
const message = (id: number, ...fields: Field[]): Field => (writer) => {
  writer.uint32((id << 3) | LENGTH_DELIMITED).fork();
  for (const field of fields) field(writer);
  writer.ldelim();
};
const serialise = (...fields: Field[]): Uint8Array => {
  const writer = protobuf.Writer.create();
  for (const field of fields) field(writer);
  return writer.finish();
};

const key = (value: string) => text(1, value); // StringStringEntryProto.key
const value = (value: string) => text(2, value); // StringStringEntryProto.value
const externalEntry = (...fields: Field[]) => message(13, ...fields); // TensorProto.external_data
const stored = (location: string) => [number(14, 1), externalEntry(key('location'), value(location)), externalEntry(key('offset'), value('0'))];
const tensorFields = (name: string, ...fields: Field[]) => [text(8, name), number(2, 1), number(1, 4), ...fields]; // name, FLOAT, dims [4]
const initializer = (name: string, ...fields: Field[]) => message(5, ...tensorFields(name, ...fields)); // GraphProto.initializer
const node = (opType: string, ...attributes: Field[]) => message(1, text(4, opType), ...attributes); // GraphProto.node, NodeProto.op_type
const attribute = (name: string, ...fields: Field[]) => message(5, text(1, name), ...fields); // NodeProto.attribute
const subgraph = (id: 6 | 11, name: string, ...fields: Field[]) => message(id, text(2, name), ...fields); // AttributeProto.g / graphs
const model = (...graphFields: Field[]) => serialise(number(1, 8), message(8, text(1, ''), number(2, 17)), message(7, text(2, 'main'), ...graphFields));

const locationsOf = (bytes: Uint8Array) => externalDataReferences(decodeOnnxModel(bytes));

describe('external data entries, whatever their layout', () => {
  it('finds an entry written key first, value first, or with unknown fields between them', () => {
    const bytes = model(
      initializer('key_first', number(14, 1), externalEntry(key('location'), value('a.bin'))),
      initializer('value_first', number(14, 1), externalEntry(value('b.bin'), key('location'))),
      initializer('extra_fields', number(14, 1), externalEntry(number(3, 7), key('location'), text(9, 'note'), value('c.bin'), number(4, 1))),
      initializer('location_after_offset', externalEntry(key('offset'), value('64')), externalEntry(key('length'), value('16')), externalEntry(value('d.bin'), key('location')), number(14, 1)),
    );
    expect(locationsOf(bytes)).toEqual([
      { location: 'a.bin', tensor: 'key_first' },
      { location: 'b.bin', tensor: 'value_first' },
      { location: 'c.bin', tensor: 'extra_fields' },
      { location: 'd.bin', tensor: 'location_after_offset' },
    ]);
  });

  it('counts only the "location" key, and each file once', () => {
    const bytes = model(
      initializer('w1', ...stored('weights.bin')),
      initializer('w2', ...stored('weights.bin')),
      initializer('decoy', number(14, 1), externalEntry(key('location'), value('real.bin')), externalEntry(key('checksum'), value('location'))),
      initializer('inline'),
    );
    expect(locationsOf(bytes)).toEqual([
      { location: 'weights.bin', tensor: 'w1' },
      { location: 'real.bin', tensor: 'decoy' },
    ]);
  });

  it('finds tensors in If branches, Loop bodies nested in them, Constant attributes and sparse initializers', () => {
    const loopBody = subgraph(6, 'body', initializer('in_loop', ...stored('loop.bin')));
    const thenBranch = subgraph(6, 'then', initializer('in_then', ...stored('then.bin')), node('Loop', attribute('body', loopBody)));
    const bytes = model(
      node('If', attribute('then_branch', thenBranch), attribute('else_branch', subgraph(6, 'else'))),
      node('Scan', attribute('bodies', subgraph(11, 'first'), subgraph(11, 'second', initializer('in_list', ...stored('graphs.bin'))))),
      node('Constant', attribute('value', message(5, ...tensorFields('constant', ...stored('constant.bin'))))),
      node('Custom', attribute('values', message(10, ...tensorFields('in_tensors', ...stored('tensors.bin'))))),
      message(15, message(1, ...tensorFields('sparse_values', ...stored('sparse.bin')))), // GraphProto.sparse_initializer → values
    );
    expect(locationsOf(bytes).map((reference) => [reference.tensor, reference.location])).toEqual([
      ['sparse_values', 'sparse.bin'],
      ['in_then', 'then.bin'],
      ['in_loop', 'loop.bin'],
      ['in_list', 'graphs.bin'],
      ['constant', 'constant.bin'],
      ['in_tensors', 'tensors.bin'],
    ]);
  });

  it('finds tensors in training graphs and functions', () => {
    const trainingInfo = message(20, message(1, text(2, 'init'), initializer('trained', ...stored('training.bin'))));
    const fn = message(25, text(1, 'fn'), message(7, text(4, 'Constant'), attribute('value', message(5, ...tensorFields('in_function', ...stored('function.bin'))))));
    const bytes = concatBytes(model(), serialise(trainingInfo, fn));
    expect(locationsOf(bytes).map((reference) => reference.location)).toEqual(['training.bin', 'function.bin']);
  });

  it('merges a graph split over two graph fields, as onnxruntime\'s parser does', () => {
    const secondHalf = serialise(message(7, initializer('hidden', ...stored('hidden.bin'))));
    expect(locationsOf(concatBytes(model(initializer('shown', ...stored('shown.bin'))), secondHalf)).map((reference) => reference.location)).toEqual(['shown.bin', 'hidden.bin']);
  });

  it('reports a location even on a tensor not marked EXTERNAL, and refuses an EXTERNAL tensor that names no file', () => {
    expect(locationsOf(model(initializer('unmarked', externalEntry(key('location'), value('unmarked.bin')))))).toEqual([{ location: 'unmarked.bin', tensor: 'unmarked' }]);
    expect(() => locationsOf(model(initializer('nowhere', number(14, 1), externalEntry(key('offset'), value('0')))))).toThrow(
      'The ONNX file is damaged: tensor "nowhere" is marked as stored in an external file but names none.',
    );
  });

  it('passes over raw weight bytes, even bytes that look like field tags', () => {
    const weights = new Uint8Array(8 << 20).fill(0x0a); // would look like field tags to a byte scanner
    const bytes = model(initializer('inline', (writer) => writer.uint32((9 << 3) | LENGTH_DELIMITED).bytes(weights)), initializer('outside', ...stored('w.bin')));
    expect(locationsOf(bytes)).toEqual([{ location: 'w.bin', tensor: 'outside' }]);
  });
});

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe('files that are not ONNX models', () => {
  const failure = (bytes: Uint8Array): OnnxDecodeError => {
    try {
      decodeOnnxModel(bytes);
    } catch (error) {
      if (error instanceof OnnxDecodeError) return error;
      throw error;
    }
    throw new Error('Expected the bytes to be refused.');
  };
  const unet = readFileSync(path.join(LINEAR_MODEL, 'unet.onnx'));

  it('says a file is empty', () => {
    expect(failure(new Uint8Array(0))).toMatchObject({ empty: true, message: 'The ONNX file is empty.' });
  });

  it('says a model is cut short, wherever it was cut', () => {
    for (const length of [1, 20, unet.length / 2, unet.length - 1]) {
      const error = failure(unet.subarray(0, Math.floor(length)));
      expect(error.empty).toBe(false);
      expect(error.reason).toMatch(/^it is cut short, a field runs past the end of the file$|^it (holds no graph|imports no operator set|declares no IR version)$/);
    }
    expect(failure(unet.subarray(0, unet.length - 1)).reason).toBe('it is cut short, a field runs past the end of the file');
  });

  it('says bytes are not protobuf, or a protobuf message is not a model', () => {
    expect(failure(new TextEncoder().encode('this is not an onnx model')).reason).toBe('its bytes are not a protobuf message (invalid wire type 4 at offset 1)');
    expect(failure(serialise(number(1, 8), message(8, number(2, 17)))).reason).toBe('it holds no graph');
    expect(failure(serialise(message(7, text(2, 'g')), message(8, number(2, 17)))).reason).toBe('it declares no IR version');
    expect(failure(serialise(number(1, 8), message(7, text(2, 'g')))).reason).toBe('it imports no operator set');
  });

  it('stops at 100 levels of nesting, as onnxruntime\'s parser does', () => {
    let graph: Field = subgraph(6, 'innermost');
    for (let depth = 0; depth < 40; depth++) graph = subgraph(6, `level${depth}`, node('If', attribute('then_branch', graph)));
    const bytes = serialise(number(1, 8), message(8, number(2, 17)), message(7, node('If', attribute('then_branch', graph))));
    expect(failure(bytes).reason).toBe('its messages nest more than 100 levels deep');
  });

  it('reads the test models written by the onnx package', () => {
    expect(locationsOf(unet)).toEqual([]);
    expect(decodeOnnxModel(unet)).toMatchObject({ irVersion: 8, opsetImport: [{ version: 17 }], graph: { name: 'unet' } });
  });
});

describe('agreement with the onnx package on files it wrote', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), 'gds-external-'));
    execFileSync(path.resolve('.venv/bin/python'), [path.resolve('test/fixtures/external-data/make_external_data_models.py'), LINEAR_MODEL, out]);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it.each(['external', 'subgraph', 'climbing', 'absolute'])('finds the same (tensor, location) pairs as onnx.external_data_helper in %s/unet.onnx', (name) => {
    const expected = (JSON.parse(readFileSync(path.join(out, 'expected.json'), 'utf8')) as Record<string, [string, string][]>)[name];
    expect(expected?.length).toBeGreaterThan(0);
    const model = decodeOnnxModel(readFileSync(path.join(out, name, 'unet.onnx')));
    const locations = new Set(externalDataReferences(model).map((reference) => reference.location));
    expect([...locations].sort()).toEqual([...new Set(expected?.map(([, location]) => location))].sort());
  });
});

describe('where a model may read its weights from', () => {
  it.each([
    ['/etc/passwd', /an absolute path; a model must not read files outside its folder/],
    ['C:\\Windows\\weights.bin', /an absolute path/],
    ['C:weights.bin', /an absolute path/],
    ['\\\\server\\share\\weights.bin', /an absolute path/],
    ['../weights.bin', /climbs out with "\.\."; a model must not read files outside its folder/],
    ['..', /climbs out with "\.\."/],
    ['sub\\..\\..\\weights.bin', /climbs out with "\.\."/],
    ['sub/weights.bin', /a path into a sub-folder; model files must lie directly in the model folder/],
    ['', /not a file name/],
    ['.', /not a file name/],
    ['weights\0.bin', /NUL character/],
  ])('refuses %j', (location, problem) => {
    expect(externalDataLocationProblem(location)).toMatch(problem);
  });

  it.each(['weights.bin', 'unet..weights', '.hidden-weights'])('accepts %j beside the model', (location) => {
    expect(externalDataLocationProblem(location)).toBeNull();
  });
});
