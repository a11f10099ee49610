/**
 * Weights from an ONNX model: its graph's initializers, by name, as float32
 * tensors (FLOAT, FLOAT16, BFLOAT16 or DOUBLE; raw or typed storage).
 *
 * @module
 */

import onnxProto from "onnx-proto";
import type { NamedTensor } from "./description.ts";
import { decodeFloats, FLOAT_DTYPE_SIZES, type FloatDtype } from "./float_decode.ts";
import { WeightFileError } from "./weight_errors.ts";

const onnx = onnxProto.onnx;
const DataType = onnx.TensorProto.DataType;

/** ONNX element types read, and the float layout of their raw bytes. */
const FLOAT_TYPES = new Map<number, FloatDtype>([
  [DataType.FLOAT, "F32"],
  [DataType.FLOAT16, "F16"],
  [DataType.BFLOAT16, "BF16"],
  [DataType.DOUBLE, "F64"],
]);

/** Options of {@linkcode readOnnxInitializers}. */
export interface ReadOnnxOptions {
  /** Names the file in error messages (a path or URL; default `onnx`). */
  source?: string;
  /** Only these initializers (each must exist and be a float type); default: every float one. */
  names?: readonly string[];
}

/**
 * Reads the float initializers of a serialised ONNX `ModelProto`. Without
 * `names`, initializers of other types (shapes, indices) are skipped.
 */
export function readOnnxInitializers(
  bytes: Uint8Array,
  options: ReadOnnxOptions = {},
): Map<string, NamedTensor> {
  const source = options.source ?? "onnx";
  const fail = (problem: string): never => {
    throw new WeightFileError(`${source}: ${problem}`);
  };
  let model: onnxProto.onnx.ModelProto | undefined;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    fail(`not an ONNX model (${(e instanceof Error ? e.message : String(e)).split("\n")[0]})`);
  }
  // Protobuf decodes many byte strings without error; a model must at least have a graph.
  if (!model?.graph) return fail("not an ONNX model (no graph)");
  const initializers = model.graph.initializer ?? [];
  const byName = new Map(initializers.map((t) => [t.name ?? "", t]));
  const out = new Map<string, NamedTensor>();
  if (!options.names) {
    for (const t of initializers) {
      if (FLOAT_TYPES.has(t.dataType ?? 0)) out.set(t.name ?? "", decodeInitializer(t, fail));
    }
    return out;
  }
  for (const name of options.names) {
    const t = byName.get(name);
    if (!t) {
      const known = [...byName.keys()];
      fail(
        `no initializer "${name}" (has ${known.length}${
          known.length ? `: ${known.slice(0, 8).join(", ")}${known.length > 8 ? ", …" : ""}` : ""
        })`,
      );
    }
    out.set(name, decodeInitializer(t!, fail));
  }
  return out;
}

function decodeInitializer(
  t: onnxProto.onnx.ITensorProto,
  fail: (problem: string) => never,
): NamedTensor {
  const name = t.name ?? "";
  const dtype = FLOAT_TYPES.get(t.dataType ?? 0);
  if (!dtype) {
    const type = DataType[t.dataType ?? 0] ?? `type ${t.dataType}`;
    return fail(
      `initializer "${name}" has type ${type}, expected FLOAT/FLOAT16/BFLOAT16/DOUBLE`,
    );
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    const where = t.externalData?.find((e) => e.key === "location")?.value ?? "?";
    fail(`initializer "${name}" keeps its data in an external file (${where}), not supported`);
  }
  // int64 dims decode as Long objects when long.js is present.
  const shape = (t.dims ?? []).map((d) => typeof d === "number" ? d : Number(d.toString()));
  let data: Float32Array;
  if (t.rawData && t.rawData.byteLength > 0) {
    if (t.rawData.byteLength % FLOAT_DTYPE_SIZES[dtype] !== 0) {
      fail(`initializer "${name}" has ${t.rawData.byteLength} raw bytes, not whole ${dtype}`);
    }
    data = decodeFloats(t.rawData, dtype);
  } else if (dtype === "F32") {
    data = Float32Array.from(t.floatData ?? []);
  } else if (dtype === "F64") {
    data = Float32Array.from(t.doubleData ?? []);
  } else {
    // 16-bit floats without raw_data are stored as bit patterns in int32_data.
    const bits = t.int32Data ?? [];
    const raw = new DataView(new ArrayBuffer(bits.length * 2));
    bits.forEach((b, i) => raw.setUint16(i * 2, b, true));
    data = decodeFloats(new Uint8Array(raw.buffer), dtype);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    fail(`initializer "${name}" has ${data.length} values for shape [${shape.join(",")}]`);
  }
  return { shape, data };
}
