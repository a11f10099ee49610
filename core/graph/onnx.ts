/**
 * Emits a set of expressions as one ONNX model (opset 17), serialised with the
 * `onnx-proto` protobuf classes. Only the ancestors of the requested outputs
 * are emitted; each constant array becomes one initializer however often it
 * is used.
 *
 * @module
 */

import onnxProto from "onnx-proto";
import {
  type AttributeValue,
  type EmitContext,
  formatShape,
  type Shape,
  ShapeError,
  type Tensor,
} from "./expr.ts";
import { ancestors } from "./autodiff.ts";

const onnx = onnxProto.onnx;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const AttrType = onnx.AttributeProto.AttributeType;

/** The ONNX opset the emitted graphs use. */
export const OPSET = 17;

/** A named value of a compiled graph and its shape. */
export interface ValueSpec {
  /** The name used in feeds and results. */
  readonly name: string;
  /** Its static shape. */
  readonly shape: Shape;
}

/** An ONNX model built from expressions. */
export interface OnnxGraph {
  /** The serialised `ModelProto`. */
  readonly model: Uint8Array;
  /** The graph inputs, in the order they were first met. */
  readonly inputs: readonly ValueSpec[];
  /** The outputs, in the order they were requested. */
  readonly outputs: readonly ValueSpec[];
  /** Number of ONNX nodes. */
  readonly nodeCount: number;
  /** Number of initializers and their total size in bytes. */
  readonly initializers: { count: number; bytes: number };
}

/** Options of {@linkcode toOnnx}. */
export interface ToOnnxOptions {
  /** The graph's name (default "stylegram"). */
  name?: string;
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  if (typeof value === "string") {
    return { name, type: AttrType.STRING, s: new TextEncoder().encode(value) };
  }
  if (typeof value === "number") {
    return Number.isInteger(value)
      ? { name, type: AttrType.INT, i: value }
      : { name, type: AttrType.FLOAT, f: value };
  }
  if (Array.isArray(value)) return { name, type: AttrType.INTS, ints: [...value] };
  return { name, type: AttrType.FLOAT, f: (value as { float: number }).float };
}

function valueInfo(name: string, shape: Shape): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: shape.map((d) => ({ dimValue: d })) } } },
  };
}

const bytesOf = (a: ArrayBufferView): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Serialises the expressions `outputs` (name → expression) and everything
 * they depend on into one ONNX model.
 *
 * @example
 * ```ts
 * import { input, mul, toOnnx } from "../../mod.ts";
 * const x = input("x", [4]);
 * const graph = toOnnx({ twice: mul(x, 2) });
 * console.log(graph.inputs, graph.outputs, graph.model.byteLength);
 * ```
 */
export function toOnnx(
  outputs: Readonly<Record<string, Tensor>>,
  options: ToOnnxOptions = {},
): OnnxGraph {
  const entries = Object.entries(outputs);
  if (entries.length === 0) throw new ShapeError("toOnnx: no outputs requested");
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const graphInputs: ValueSpec[] = [];
  const inputOwner = new Map<string, Tensor>();
  const usedNames = new Set<string>();
  const int64Cache = new Map<string, string>();
  const floatCache = new Map<string, string>();
  const arrayCache = new Map<Float32Array, Map<string, string>>();
  let initializerBytes = 0;
  let current: Tensor | undefined;
  let counter = 0;

  const fresh = (base: string): string => {
    let name = base;
    while (usedNames.has(name)) name = `${base}_${++counter}`;
    usedNames.add(name);
    return name;
  };
  const addInitializer = (name: string, dims: Shape, dataType: number, raw: Uint8Array) => {
    initializers.push({ name, dims: [...dims], dataType, rawData: raw });
    initializerBytes += raw.byteLength;
    return name;
  };

  const order = ancestors(entries.map(([, t]) => t));
  const ctx: EmitContext = {
    node(opType, inputs, attributes = {}, outputCount = 1) {
      const base = current ? `${current.op.name}_${current.id}` : opType;
      const out = Array.from(
        { length: outputCount },
        (_, k) => fresh(k ? `${base}_out${k}` : base),
      );
      nodes.push({
        opType,
        name: fresh(`${base}/${opType}`),
        input: [...inputs],
        output: out,
        attribute: Object.entries(attributes).map(([k, v]) => attribute(k, v)),
      });
      return out;
    },
    int64(values) {
      return ctx.initializerInt64(values, [values.length]);
    },
    initializerInt64(values, shape) {
      const key = `${shape.join("x")}:${values.join(",")}`;
      let name = int64Cache.get(key);
      if (!name) {
        name = addInitializer(
          fresh(`i64_${values.length}`),
          shape,
          INT64,
          bytesOf(BigInt64Array.from(values, (v) => BigInt(v))),
        );
        int64Cache.set(key, name);
      }
      return name;
    },
    float(values, shape) {
      const dims = shape ?? (values.length === 1 ? [] : [values.length]);
      const key = `${dims.join("x")}:${values.join(",")}`;
      let name = floatCache.get(key);
      if (!name) {
        name = addInitializer(fresh("f32"), dims, FLOAT, bytesOf(Float32Array.from(values)));
        floatCache.set(key, name);
      }
      return name;
    },
    graphInput(name, shape) {
      const owner = inputOwner.get(name);
      if (owner && owner !== current) {
        throw new ShapeError(`toOnnx: two different inputs are both named "${name}"`);
      }
      if (usedNames.has(name)) {
        throw new ShapeError(`toOnnx: input name "${name}" is already used by another value`);
      }
      inputOwner.set(name, current!);
      usedNames.add(name);
      graphInputs.push({ name, shape });
      return name;
    },
    initializer(data, shape, preferredName) {
      const key = shape.join("x");
      let byShape = arrayCache.get(data);
      const known = byShape?.get(key);
      if (known) return known;
      const name = addInitializer(fresh(preferredName ?? "weight"), shape, FLOAT, bytesOf(data));
      if (!byShape) arrayCache.set(data, byShape = new Map());
      byShape.set(key, name);
      return name;
    },
  };

  // Names reserved for outputs so no internal value takes them.
  const outputNames = entries.map(([name]) => name);
  for (const name of outputNames) {
    if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(name)) {
      throw new ShapeError(`toOnnx: output name ${JSON.stringify(name)} must be an identifier`);
    }
    if (usedNames.has(name)) throw new ShapeError(`toOnnx: output "${name}" is requested twice`);
    usedNames.add(name);
  }

  const names = new Map<number, string>();
  for (const t of order) {
    current = t;
    names.set(t.id, t.op.emit(ctx, t, t.inputs.map((i) => names.get(i.id)!)));
  }
  current = undefined;

  const outputSpecs: ValueSpec[] = [];
  for (const [name, t] of entries) {
    if (inputOwner.has(name)) {
      throw new ShapeError(`toOnnx: output "${name}" has the name of an input`);
    }
    nodes.push({
      opType: "Identity",
      name: `${name}/Identity`,
      input: [names.get(t.id)!],
      output: [name],
    });
    outputSpecs.push({ name, shape: t.shape });
  }

  const model = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "stylegram",
    graph: {
      name: options.name ?? "stylegram",
      node: nodes,
      initializer: initializers,
      input: graphInputs.map((i) => valueInfo(i.name, i.shape)),
      output: outputSpecs.map((o) => valueInfo(o.name, o.shape)),
    },
  }).finish();

  for (const spec of outputSpecs) {
    if (spec.shape.some((d) => d === 0)) {
      throw new ShapeError(`toOnnx: output "${spec.name}" is empty (${formatShape(spec.shape)})`);
    }
  }
  return {
    model,
    inputs: graphInputs,
    outputs: outputSpecs,
    nodeCount: nodes.length,
    initializers: { count: initializers.length, bytes: initializerBytes },
  };
}
