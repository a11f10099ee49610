/**
 * Leaves of the expression DAG: graph inputs, constants (ONNX initializers)
 * and filled tensors.
 *
 * @module
 */

import {
  apply,
  checkShape,
  type OpDef,
  type Shape,
  ShapeError,
  sizeOf,
  type Tensor,
} from "../expr.ts";

/** Attributes of a graph input. */
export interface InputAttrs {
  /** The input's name in the ONNX graph and in the feeds of a run. */
  readonly name: string;
  /** Its shape. */
  readonly shape: Shape;
}

const inputOp: OpDef<InputAttrs> = {
  name: "input",
  shape: (_inputs, attrs) => attrs.shape,
  emit: (ctx, node) => ctx.graphInput(node.attrs.name, node.shape),
};

/**
 * A graph input: a tensor fed at every run (for example the image being
 * optimised).
 *
 * @example
 * ```ts
 * import { input } from "./source.ts";
 * const image = input("image", [1, 3, 64, 64]);
 * ```
 */
export function input(name: string, shape: Shape): Tensor {
  if (!/^[A-Za-z_][A-Za-z0-9_.:-]*$/.test(name)) {
    throw new ShapeError(`input: name ${JSON.stringify(name)} must be an identifier`);
  }
  checkShape(shape, `input "${name}"`);
  return apply(inputOp, [], { name, shape: [...shape] });
}

/** Attributes of a constant: its data, shape and an optional name for the initializer. */
export interface ConstantAttrs {
  /** The values, row-major. */
  readonly data: Float32Array;
  /** Its shape. */
  readonly shape: Shape;
  /** The initializer's name in the ONNX graph (a unique one is made if taken). */
  readonly name?: string;
}

const constantOp: OpDef<ConstantAttrs> = {
  name: "constant",
  shape: (_inputs, attrs) => attrs.shape,
  emit: (ctx, node) => ctx.initializer(node.attrs.data, node.shape, node.attrs.name),
};

/**
 * A constant tensor (weights, targets, kernels): stored once in the ONNX graph
 * as an initializer, never differentiated.
 *
 * @example
 * ```ts
 * import { constant } from "./source.ts";
 * const kernel = constant(new Float32Array([1, -1]), [1, 1, 1, 2]);
 * ```
 */
export function constant(
  data: Float32Array | readonly number[] | number,
  shape?: Shape,
  options: { name?: string } = {},
): Tensor {
  const values = typeof data === "number"
    ? new Float32Array([data])
    : data instanceof Float32Array
    ? data
    : Float32Array.from(data);
  const dims = shape ?? (typeof data === "number" ? [] : [values.length]);
  if (!Array.isArray(dims) || dims.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`constant: shape ${JSON.stringify(dims)} must be a list of integers ≥ 0`);
  }
  if (sizeOf(dims) !== values.length) {
    throw new ShapeError(
      `constant: ${values.length} values do not fill shape [${dims.join(",")}] ` +
        `(expected ${sizeOf(dims)})`,
    );
  }
  return apply(constantOp, [], { data: values, name: options.name, shape: [...dims] });
}

/** True when `t` is a constant (an initializer). */
export function isConstant(t: Tensor): boolean {
  return t.op === (constantOp as OpDef<unknown>);
}

/** True when `t` is a graph input. */
export function isInput(t: Tensor): boolean {
  return t.op === (inputOp as OpDef<unknown>);
}

/** The data of a constant tensor, or undefined for any other expression. */
export function constantData(t: Tensor): Float32Array | undefined {
  return isConstant(t) ? (t.attrs as ConstantAttrs).data : undefined;
}

/** Attributes of a filled tensor. */
export interface FillAttrs {
  readonly value: number;
  readonly shape: Shape;
}

const fillOp: OpDef<FillAttrs> = {
  name: "fill",
  shape: (_inputs, attrs) => attrs.shape,
  // Expand a scalar at run time instead of storing a large initializer.
  emit: (ctx, node) =>
    ctx.node("Expand", [ctx.float([node.attrs.value]), ctx.int64(node.shape)])[0],
};

/**
 * A tensor of shape `shape` filled with `value`, made at run time (no large
 * initializer is stored).
 */
export function fill(shape: Shape, value: number): Tensor {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`fill: shape ${JSON.stringify(shape)} must be a list of integers ≥ 0`);
  }
  if (!Number.isFinite(value)) throw new ShapeError(`fill: value ${value} must be finite`);
  return apply(fillOp, [], { value, shape: [...shape] });
}
